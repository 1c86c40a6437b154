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
    from survey_app.services.distribution import by_village, ensure_posters, issue_cards
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
            for village in villages[:DEMO_CARD_VILLAGES] if by_village(questionnaire) else [None]:
                has_cards = any(link.kind == LinkKind.CARD
                                and link.village_id == (village.id if village is not None else None)
                                for link in questionnaire.links)
                if not has_cards:
                    issue_cards(session, questionnaire, village, DEMO_CARDS, actor="demo")
            published.append((questionnaire, links[0]))
    return published


#: simulated answers per questionnaire, by project: (responses, satisfied, dont_know)
SIMULATION = {"村干部工资": (150, 146, 0), "自收自支人员补助": (31, 30, 0), "村办公经费": (240, 226, 6),
              "服务基层专项经费": (40, 37, 1)}


def simulate(session: Session, unit: Unit, *, seed: int = 2024) -> int:
    """Add labelled simulated responses (kept out of every real figure) once per questionnaire."""
    import random

    from sqlalchemy import func, select

    from survey_app.models import Channel, Response
    from survey_app.services.collection import Answers, new_submission_key, submit

    rng = random.Random(seed)
    added = 0
    villages = list(unit.villages)
    for project in unit.projects:
        for indicator in project.indicators:
            questionnaire = session.scalar(select(Questionnaire).where(Questionnaire.indicator_id == indicator.id))
            if questionnaire is None or questionnaire.current_version is None:
                continue
            if session.scalar(select(func.count(Response.id)).where(
                    Response.questionnaire_id == questionnaire.id, Response.simulated.is_(True))):
                continue
            if project.name == RANDOM_SAMPLE_PROJECT and len(villages) >= RANDOM_SAMPLE_VILLAGES:
                added += simulate_random_sample(session, questionnaire, villages[:RANDOM_SAMPLE_VILLAGES], rng)
                continue
            total, satisfied, dont_know = SIMULATION.get(project.name, (60, 57, 1))
            answers = (["非常满意", "满意"] * total)[:satisfied]
            answers += ["不了解"] * dont_know
            answers += [rng.choice(["一般", "不满意", "非常不满意"]) for _ in range(total - satisfied - dont_know)]
            rng.shuffle(answers)
            version = questionnaire.current_version
            for n, choice in enumerate(answers):
                village = villages[n % min(len(villages), 8)] if villages else None
                channel = rng.choice([Channel.POSTER, Channel.POSTER, Channel.PAPER, Channel.INTERVIEW])
                values = {"satisfaction": choice, "identity": "其他"}
                submit(session, link=None, version=version,
                       answers=Answers(values, choice, "", village.id if village else None),
                       submission_key=new_submission_key(), channel=channel, entered_by="模拟数据",
                       simulated=True)
                added += 1
    return added


#: the demo's random-sample indicator (villagers, drawn from village rosters); the others stay poster-only
RANDOM_SAMPLE_PROJECT = "村办公经费"
RANDOM_SAMPLE_VILLAGES = 14
RANDOM_SAMPLE_CARDS = 140
#: the public number the demo "drew" with (a real survey uses a lottery result announced after the declaration)
DEMO_LOTTERY = ("演示：中国体育彩票排列三 2024年11月30日开奖号码", "318")


def simulate_random_sample(session: Session, questionnaire: Questionnaire, villages: list[Village], rng) -> int:  # type: ignore[no-untyped-def]
    """A drawn sample from village rosters with dispositions and simulated answers through the cards.

    14 villages, 140 households drawn in proportion to the rosters; two drawn positions turn
    out empty (not eligible) and are replaced by the next reserve; one household
    refuses; everyone else answers through their card, one of them "一般".
    """
    from survey_app.models import Channel
    from survey_app.services import sampling
    from survey_app.services.collection import Answers, new_submission_key, submit

    if sampling.draw_of(session, questionnaire) is not None:
        return 0
    rosters = {v.id: rng.randint(90, 220) for v in villages}
    for village in villages:
        sampling.set_frame(session, questionnaire, village, rosters[village.id], actor="demo",
                           description="演示：户籍花名册，按户编号")
    # proportional allocation: every household has the same chance, so the pooled figures are exact
    sampling.declare_draw(session, questionnaire, DEMO_LOTTERY[0],
                          sampling.proportional(rosters, RANDOM_SAMPLE_CARDS), actor="demo")
    cards = sampling.perform_draw(session, questionnaire, DEMO_LOTTERY[1], actor="demo")
    empty, refused = cards[3], cards[57]
    sampling.set_dispositions(session, questionnaire, {empty.id: ("not_eligible", 1), cards[88].id: ("not_eligible", 1),
                                                       refused.id: ("refused", 2)}, actor="demo")
    cards += [sampling.replace_card(session, empty, actor="demo"),
              sampling.replace_card(session, cards[88], actor="demo")]
    version = questionnaire.current_version
    added = 0
    answering = [c for c in cards if c.disposition not in ("not_eligible", "refused")]
    lukewarm = rng.randrange(len(answering))
    for n, card in enumerate(answering):
        choice = "一般" if n == lukewarm else rng.choice(["非常满意", "满意"])
        submit(session, link=card, version=version,
               answers=Answers({"satisfaction": choice, "identity": "本镇村民"}, choice, "", card.village_id),
               submission_key=new_submission_key(), channel=Channel.CARD, entered_by="模拟数据", simulated=True)
        added += 1
    return added
