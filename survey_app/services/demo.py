"""Demo data beyond the seed table."""

from __future__ import annotations

from sqlalchemy.orm import Session

from survey_app.models import Unit, Village

#: the seed says 34 villages (所辖村数量 34个) but not their names
DEMO_VILLAGE_COUNT = 34


def ensure_demo_villages(session: Session, unit: Unit) -> int:
    """Give the demo unit 34 placeholder villages, once. Returns the village count."""
    if not unit.villages:
        for n in range(1, DEMO_VILLAGE_COUNT + 1):
            session.add(Village(unit=unit, code=f"{n:03d}", name=f"演示村{n:02d}"))
        session.flush()
    return len(unit.villages)
