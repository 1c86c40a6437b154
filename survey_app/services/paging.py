"""One pagination and sort helper for every long list (projects, cards, responses, comments, audit log).

Counting runs in the database (``SELECT count(*) FROM (query)``) and one page is
fetched with LIMIT/OFFSET, so a list of any length costs one page of rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PER_PAGE = 50
MAX_PER_PAGE = 200


@dataclass
class Page:
    items: Sequence[Any]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first_index(self) -> int:
        """1-based position of the first item on this page (0 when empty)."""
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.number * self.per_page, self.total)

    def window(self, size: int = 2) -> list[int | None]:
        """Page numbers to link: first, last and ``size`` around the current one; None marks a gap."""
        shown = {1, self.pages, *range(max(1, self.number - size), min(self.pages, self.number + size) + 1)}
        out: list[int | None] = []
        for n in sorted(shown):
            if out and out[-1] is not None and n - out[-1] > 1:  # type: ignore[operator]
                out.append(None)
            out.append(n)
        return out


def page_number(args: Mapping[str, str]) -> tuple[int, int]:
    """(page, per_page) from request arguments; nonsense falls back to the first page."""
    try:
        number = max(1, int(args.get("page", 1)))
    except (TypeError, ValueError):
        number = 1
    try:
        per_page = min(MAX_PER_PAGE, max(10, int(args.get("per_page", PER_PAGE))))
    except (TypeError, ValueError):
        per_page = PER_PAGE
    return number, per_page


def paginate(session: Session, query: Select, args: Mapping[str, str], *, scalars: bool = True) -> Page:
    """One page of ``query`` (already filtered and ordered) chosen by ``args`` (page, per_page)."""
    number, per_page = page_number(args)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    number = min(number, max(1, math.ceil(total / per_page)))
    paged = query.limit(per_page).offset((number - 1) * per_page)
    items = session.scalars(paged).all() if scalars else session.execute(paged).all()
    return Page(items, number, per_page, total)


def sorted_by(query: Select, args: Mapping[str, str], columns: Mapping[str, Any], default: str) -> tuple[Select, str]:
    """Order ``query`` by the column named in ``args['sort']`` (a leading ``-`` means descending).

    Only names in ``columns`` are accepted; anything else falls back to ``default``.
    Returns the query and the sort key used (for the page's sort links).
    """
    key = args.get("sort") or default
    name = key.lstrip("-")
    if name not in columns:
        key, name = default, default.lstrip("-")
    column = columns[name]
    return query.order_by(column.desc() if key.startswith("-") else column.asc()), key
