"""Demo data beyond the seed table."""

from __future__ import annotations

from sqlalchemy.orm import Session

from survey_app.models import Link, LinkKind, Questionnaire, Unit, Village

#: the seed says 34 villages (所辖村数量 34个) but not their names
DEMO_VILLAGE_COUNT = 34


def ensure_demo_villages(session: Session, unit: Unit) -> int:
    """Give the demo unit 34 placeholder villages, once. Returns the village count."""
    if not unit.villages:
        for n in range(1, DEMO_VILLAGE_COUNT + 1):
            session.add(Village(unit=unit, code=f"{n:03d}", name=f"演示村{n:02d}"))
        session.flush()
    return len(unit.villages)


#: villages that get card sheets in the demo, and how many cards each
DEMO_CARD_VILLAGES = 3
DEMO_CARDS = 10


def publish_demo_questionnaires(session: Session, unit: Unit) -> list[tuple[Questionnaire, Link]]:
    """Generate and publish the unit's questionnaires with posters and a few card sheets (once)."""
    from survey_app.services.distribution import ensure_posters, issue_cards
    from survey_app.services.questionnaires import ensure_questionnaire, publish

    published = []
    villages = list(unit.villages)
    for project in unit.projects:
        for indicator in project.indicators:
            if not indicator.is_satisfaction:
                continue
            questionnaire, _ = ensure_questionnaire(session, indicator, actor="demo")
            if questionnaire.current_version is None:
                publish(session, questionnaire, actor="demo")
            links = ensure_posters(session, questionnaire, villages, actor="demo")
            for village in villages[:DEMO_CARD_VILLAGES]:
                has_cards = any(link.kind == LinkKind.CARD and link.village_id == village.id
                                for link in questionnaire.links)
                if not has_cards:
                    issue_cards(session, questionnaire, village, DEMO_CARDS, actor="demo")
            published.append((questionnaire, links[0]))
    return published
