"""Domain events. Lower domains announce what happened; higher domains listen.

Receivers run synchronously inside the sender's transaction, so they must not commit.
"""

from blinker import Namespace

_signals = Namespace()

lesson_completed = _signals.signal("lesson_completed")  # sender=user_id, lesson_id=
course_completed = _signals.signal("course_completed")  # sender=user_id, course_id=
track_completed = _signals.signal("track_completed")  # sender=user_id, track_version_id=
user_created = _signals.signal("user_created")  # sender=user_id
# sender=user_id, fields= (names of what changed), previous= (their values before)
user_changed = _signals.signal("user_changed")
# A person's place in their partner's headcount changed (accounts.headcount): joined, invited,
# deactivated, moved or gone to the vendor. Sent before user_changed, whose listeners may
# then change their assignments. sender=user_id, was=, now= ((organisation_id, key) or None)
staff_moved = _signals.signal("staff_moved")
organisation_changed = _signals.signal("organisation_changed")  # sender=org_id, fields=
content_synced = _signals.signal("content_synced")  # sender=None, report=
# sender=user_id, attempt_id=, assessment_version_id=, assessment_slug=
assessment_passed = _signals.signal("assessment_passed")
# sender=user_id, certificate_id=, program_code=, renewal= (bool)
certificate_issued = _signals.signal("certificate_issued")
certificate_revoked = _signals.signal("certificate_revoked")  # sender=user_id, certificate_id=
# sender=organisation_id (the journey's), milestone_id=
milestone_completed = _signals.signal("milestone_completed")
# Partners' readiness scores were stored afresh. sender=None, organisation_ids= (None: all)
readiness_recomputed = _signals.signal("readiness_recomputed")
# Asked, not announced: may a person who passed these assessments take them again? Receivers
# (certifications: a renewal window, a lapse) return {slug: the moment from which earlier
# passes no longer count}, leaving out the others. Asked for a list at once, so a list of
# exams costs the same few queries as one. sender=user_id, assessment_slugs=
assessment_reopening = _signals.signal("assessment_reopening")
# Asked, not announced: may this person start these assessments? Receivers (certifications:
# a renewal exam is for holders due to renew) return {slug: lms.assessments.access.Refusal}
# for those they refuse. sender=user_id, assessment_slugs=
assessment_access = _signals.signal("assessment_access")
# Asked: which certifications does passing this assessment count toward (as a requirement
# or a renewal)? Receivers return a list of program names. sender=assessment_slug
assessment_certifies = _signals.signal("assessment_certifies")
# Asked by a result page: what did this finished attempt lead to (a certificate issued)?
# Receivers return a list of lms.assessments.outcomes.Outcome. sender=user_id, attempt=
attempt_outcomes = _signals.signal("attempt_outcomes")
