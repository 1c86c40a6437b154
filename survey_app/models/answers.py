"""Follow-up notes on villagers' comments (意见建议): what was done about a complaint."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from survey_app.db import Base, utcnow


class CommentFollowUp(Base):
    """One follow-up note on a response's comment; the latest note is the comment's state."""

    __tablename__ = "comment_followups"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="RESTRICT"), index=True)
    note: Mapped[str] = mapped_column(Text)
    done: Mapped[bool] = mapped_column(default=True)
    by: Mapped[str] = mapped_column(String(80))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<CommentFollowUp {self.id} response={self.response_id}>"
