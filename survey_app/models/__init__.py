"""All models, imported here so that ``Base.metadata`` is complete."""

from survey_app.models.accounts import Role, User, user_units
from survey_app.models.answers import CommentFollowUp
from survey_app.models.audit import AuditEvent
from survey_app.models.budget import (
    GROUP_LABELS,
    Indicator,
    Project,
    RespondentGroup,
    Unit,
    Village,
)
from survey_app.models.imports import ImportMapping, ImportPreview
from survey_app.models.results import Exclusion, IndicatorActual, Measurement, SelfEvaluation
from survey_app.models.sampling import SampleDraw, SamplingFrame
from survey_app.models.survey import (
    ChainHead,
    Channel,
    Link,
    LinkKind,
    PaperEntry,
    PublishedHead,
    Questionnaire,
    QuestionnaireStatus,
    QuestionnaireVersion,
    Response,
)

__all__ = [
    "CommentFollowUp",
    "SampleDraw",
    "SamplingFrame",
    "ChainHead",
    "PublishedHead",
    "Exclusion",
    "ImportMapping",
    "ImportPreview",
    "IndicatorActual",
    "Measurement",
    "SelfEvaluation",
    "Channel",
    "Link",
    "LinkKind",
    "PaperEntry",
    "Questionnaire",
    "QuestionnaireStatus",
    "QuestionnaireVersion",
    "Response",
    "GROUP_LABELS",
    "AuditEvent",
    "Indicator",
    "Project",
    "RespondentGroup",
    "Role",
    "Unit",
    "User",
    "user_units",
    "Village",
]
