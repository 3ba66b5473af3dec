"""Every model, imported in dependency order so the metadata is complete (Alembic, tests)."""

from lms.accounts.models import (  # noqa: F401
    Invitation,
    LoginAttempt,
    Organisation,
    PasswordReset,
    Term,
    User,
    UserSession,
)
from lms.assessments.models import (  # noqa: F401  (after catalog: it refers to its tables)
    Assessment,
    AssessmentItem,
    AssessmentVersion,
    Attempt,
    AttemptItem,
    ItemStatistic,
    OptionStatistic,
    Response,
)
from lms.catalog.models import (  # noqa: F401
    Asset,
    Assignment,
    Course,
    CourseCompletion,
    Lesson,
    LessonCompletion,
    Track,
    TrackCompletion,
    TrackVersion,
)
from lms.certifications.models import (  # noqa: F401
    Certificate,
    CertificateEvent,
    CertificateNotice,
    ExpiryDigest,
    Program,
    ProgramVersion,
)
from lms.core.mail import OutboxMessage  # noqa: F401
from lms.core.settings import Setting  # noqa: F401
from lms.core.tallies import Tally  # noqa: F401
from lms.journeys.models import (  # noqa: F401
    EvidenceFile,
    Journey,
    JourneyEvent,
    JourneyMilestone,
    JourneyNudge,
    JourneyTemplate,
    JourneyTemplateVersion,
)
from lms.readiness.models import (  # noqa: F401  (after accounts: scores name organisations)
    ReadinessPending,
    ReadinessRubric,
    ReadinessScore,
)
from lms.scorecard.models import (  # noqa: F401  (after readiness: it sits on top of it)
    ApiToken,
    DeliveryAttempt,
    ImportChange,
    ImportMapping,
    MetricDefinitionSet,
    MetricImport,
    MetricValue,
    PartnerState,
    ReviewPeriod,
    Snapshot,
    WebhookDelivery,
    WebhookEndpoint,
)
