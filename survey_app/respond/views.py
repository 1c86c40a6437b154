"""Respondent views: open a QR link, answer, get a receipt.

The page is server-rendered with its CSS inline (allowed by a CSP hash), so the
first view is one response of a few KB, with no JavaScript and nothing from
another host. The form carries its own signed token (link, version, a random
submission key, the time the form was shown), so it works with cookies off.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from pathlib import Path
from typing import Any

from flask import Response as FlaskResponse
from flask import current_app, g, make_response, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from survey_app.db import get_db, get_session
from survey_app.extensions import client_address, csrf, limiter
from survey_app.filters import local_time
from survey_app.models import (
    Channel,
    Indicator,
    Link,
    LinkKind,
    Project,
    QuestionnaireVersion,
    Response,
    Unit,
    Village,
)
from survey_app.respond import bp
from survey_app.services.cellsafe import clean_text
from survey_app.services.collection import (
    CardUsed,
    NotAccepting,
    Stored,
    check_open,
    form_payload,
    lookup_link,
    questions_for,
    salted_hash,
    store_form,
    submit,
    validate_answers,
    version_facts,
)

FORM_MAX_AGE = 2 * 24 * 3600
#: a random id per phone, signed; the per-device rate limit rests on it (README "Security")
DEVICE_COOKIE = "survey_device"
DEVICE_COOKIE_AGE = 365 * 24 * 3600
CSS_PATH = Path(__file__).resolve().parent.parent / "static" / "respond.css"
_css_cache: dict[str, str] = {}
_SIGNERS: dict[tuple[type, str, str], Any] = {}


def respond_css() -> str:
    if "css" not in _css_cache:
        _css_cache["css"] = CSS_PATH.read_text(encoding="utf-8").strip()
        digest = hashlib.sha256(_css_cache["css"].encode("utf-8")).digest()
        _css_cache["hash"] = "sha256-" + base64.b64encode(digest).decode("ascii")
    return _css_cache["css"]


def _csp() -> str:
    respond_css()
    return (f"default-src 'none'; style-src '{_css_cache['hash']}'; img-src 'self' data:; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def version_content(version: QuestionnaireVersion) -> dict:
    """A published version's content, parsed once per process (read again if it changed in the database)."""
    facts = version_facts(get_session().connection(), version.id, version.content_hash)
    assert facts is not None
    return facts.content


def _serializer() -> URLSafeTimedSerializer:
    return _signer(URLSafeTimedSerializer, "respond-form")


def _signer(kind: type, salt: str) -> Any:
    """One signer per secret key and salt (building one costs more than signing)."""
    key = (kind, salt, current_app.config["SECRET_KEY"])
    signer = _SIGNERS.get(key)
    if signer is None:
        signer = _SIGNERS[key] = kind(current_app.config["SECRET_KEY"], salt=salt)
    return signer


def _new_form_token(link: Link, version: QuestionnaireVersion) -> str:
    return _serializer().dumps(form_payload(link.id, version.id, card=link.kind == LinkKind.CARD,
                                            village_id=link.village_id))


def _page(template: str, status: int = 200, **context) -> FlaskResponse:  # type: ignore[no-untyped-def]
    # rendered by Jinja directly: respondent pages use no context processor (no session, no login,
    # no CSRF token), only the request (the error page's retry form)
    html = current_app.jinja_env.get_template(template).render(css=respond_css(), request=request, **context)
    return _finish(html, status)


def _finish(html: str, status: int = 200) -> FlaskResponse:
    response = make_response(html, status)
    response.headers["Content-Security-Policy"] = _csp()
    # not "no-store": the Back button must bring back the same form (same signed token), so
    # that submitting it again finds the stored response instead of making a second one
    response.headers["Cache-Control"] = "private, max-age=0"
    if _device_id() is None:
        response.set_cookie(DEVICE_COOKIE, _device_signer().dumps(secrets.token_urlsafe(16)),
                            max_age=DEVICE_COOKIE_AGE, httponly=True, samesite="Lax",
                            secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


#: stand-ins for the receipt page's two values: a code that is never a receipt (I and O are not in
#: the alphabet) and a minute no answer is from
_CODE_STAND_IN = "RECEIPTCODE"
_TIME_STAND_IN = dt.datetime(2001, 2, 3, 4, 5, tzinfo=dt.UTC)


def _receipt_page(stored: Stored) -> FlaskResponse:
    """The receipt page of a new answer: rendered from its template once per app with stand-ins,
    then filled in (the code is letters and digits, the time digits: nothing to escape)."""
    page = current_app.extensions.get("respond_receipt_page")
    if page is None:
        page = current_app.extensions["respond_receipt_page"] = current_app.jinja_env.get_template(
            "respond/thanks.html").render(css=respond_css(), request=request, repeat=False,
                                          response=Stored(0, _CODE_STAND_IN, _TIME_STAND_IN))
    html = page.replace(_CODE_STAND_IN, stored.receipt).replace(local_time(_TIME_STAND_IN),
                                                                local_time(stored.submitted_at))
    return _finish(html)


def _device_signer() -> URLSafeSerializer:
    return _signer(URLSafeSerializer, "respond-device")


def _device_id() -> str | None:
    """The id in this phone's signed device cookie (None: no cookie, or a forged one)."""
    if "device_id" not in g:
        cookie = request.cookies.get(DEVICE_COOKIE)
        try:
            g.device_id = _device_signer().loads(cookie) if cookie else None
        except BadSignature:
            g.device_id = None
    return g.device_id


def _hashes() -> tuple[str, str]:
    secret = current_app.config["SECRET_KEY"]
    address = request.remote_addr or ""
    device = _device_id()
    if device is None:
        agent = request.headers.get("User-Agent", "")
        language = request.headers.get("Accept-Language", "")
        return salted_hash(secret, "net", address), salted_hash(secret, "dev", address, agent, language)
    return salted_hash(secret, "net", address), salted_hash(secret, "dev", device)


def _device_key() -> str:
    """Phones with the device cookie: one bucket each (a village behind one network still answers)."""
    return f"device:{_device_id()}"


def _no_cookie_key() -> str:
    """Clients without a valid device cookie share one stricter bucket per address."""
    return "no-cookie:" + client_address()


def _no_device_limit() -> bool:
    return _limits_on() or _device_id() is None


def _no_shared_limit() -> bool:
    return _limits_on() or _device_id() is not None


def _link_key() -> str:
    return "link:" + (request.view_args or {}).get("token", "").upper()


def _limits_on() -> bool:
    return not current_app.config.get("RATELIMIT_ENABLED", True)


def _villages(link: Link) -> list[Village]:
    """The villages a respondent may pick (none needed when the link fixes the village)."""
    if link.village is not None:
        return []
    return list(get_session().scalars(
        select(Village).join(Unit).join(Project).join(Indicator)
        .where(Indicator.id == link.questionnaire.indicator_id).order_by(Village.code)
    ))


def _refusal(link: Link | None, reason: str, status: int = 410, **extra) -> FlaskResponse:  # type: ignore[no-untyped-def]
    return _page("respond/refused.html", status=status, link=link, reason=reason, **extra)


def _form_page(link: Link, version: QuestionnaireVersion, *, token: str, answers: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, status: int = 200, notice: str = "",
               preview: bool = False) -> FlaskResponse:
    return _page(
        "respond/form.html",
        status=status,
        link=link,
        content=version_content(version),
        questions=questions_for(version_content(version), village_fixed=link.village is not None),
        villages=_villages(link),
        form_token=token,
        answers=answers or {},
        errors=errors or {},
        notice=notice,
        preview=preview,
    )


def render_preview(questionnaire, content) -> FlaskResponse:  # type: ignore[no-untyped-def]
    """The respondent page exactly as a phone shows it, for a draft (staff preview)."""
    unit = questionnaire.indicator.project.unit
    village = unit.villages[0] if unit.villages else None
    return _page(
        "respond/form.html",
        link=None,
        content=content,
        questions=questions_for(content, village_fixed=village is not None),
        villages=list(unit.villages),
        form_token="",
        answers={},
        errors={},
        notice="",
        preview=True,
        preview_village=village,
    )


@bp.route("/R/<token>", methods=["GET"])
@limiter.limit(lambda: current_app.config["RESPOND_LIMIT_NETWORK"], exempt_when=_limits_on)
def open_link(token: str):  # type: ignore[no-untyped-def]
    """Scan target: show the questionnaire (or why it cannot be answered)."""
    found = lookup_link(get_session(), token)
    if found is None:
        return _refusal(None, "invalid", status=404)
    link = found.link
    try:
        version = check_open(link.questionnaire, link, latest=found.latest)
    except NotAccepting as exc:
        return _refusal(link, exc.reason, at=exc.at)
    if found.card_used_at is not None:
        return _refusal(link, "used", used_at=found.card_used_at)
    return _form_page(link, version, token=_new_form_token(link, version))


# The form posts to its own URL: a POST invalidates the browser's cached copy of its target
# (RFC 9111 §4.4), and the Back button must find the form page, with its token, still cached.
@bp.route("/R/<token>/submit", methods=["POST"])
@csrf.exempt  # the signed form token below protects this form; respondents have no session
@limiter.limit(lambda: current_app.config["RESPOND_LIMIT_DEVICE"], key_func=_device_key, exempt_when=_no_device_limit)
@limiter.limit(lambda: current_app.config["RESPOND_LIMIT_NO_COOKIE"], key_func=_no_cookie_key,
               exempt_when=_no_shared_limit)
@limiter.limit(lambda: current_app.config["RESPOND_LIMIT_NETWORK"], exempt_when=_limits_on)
@limiter.limit(lambda: current_app.config["RESPOND_LIMIT_LINK"], key_func=_link_key, exempt_when=_limits_on)
def submit_link(token: str):  # type: ignore[no-untyped-def]
    """Store the answers exactly once and show the receipt."""
    typed = {k: v for k, v in request.form.items() if k != "form_token"}
    network, device = _hashes()
    try:
        payload = _serializer().loads(request.form.get("form_token", ""), max_age=FORM_MAX_AGE)
    except SignatureExpired:
        payload = None
        expired = True
    except BadSignature:
        payload, expired = False, False
    else:
        expired = False
    if payload:  # a form this service showed, in time: checked and stored by one statement
        try:
            with get_db().one_statement() as connection:
                stored = store_form(connection, token=token.strip().upper(), payload=payload, form=typed,
                                    network_hash=network, device_hash=device)
            if stored is not None:
                return _receipt_page(stored)
        except (OperationalError, InterfaceError):  # e.g. a connection the server dropped: the full path
            # below tries once more (exactly once: the same submission key), and keeps the answers if it fails
            current_app.logger.warning("database error on the fast path", exc_info=True)
    # what is shown again never carries control characters (validate_answers refuses them)
    answers_in = {k: clean_text(v) for k, v in typed.items()}
    session = get_session()
    # the link, its newest version, an already stored form and a used card: one round trip
    found = lookup_link(session, token, payload["k"] if payload else None)
    if found is None:
        return _refusal(None, "invalid", status=404)
    link = found.link
    if payload is False or (payload is not None and payload.get("l") != link.id):
        return _refusal(link, "forged", status=400)
    if found.stored_id is not None:  # a repeat of a stored form: same receipt, nothing new
        already = session.get(Response, found.stored_id)
        return _page("respond/thanks.html", link=link, response=already, repeat=True)
    try:
        version = check_open(link.questionnaire, link, latest=found.latest)
    except NotAccepting as exc:
        return _refusal(link, exc.reason, at=exc.at)
    if expired:
        return _form_page(link, version, token=_new_form_token(link, version), answers=answers_in,
                          status=409,
                          notice="页面停留时间过长，已为您保留答案，请检查后再次提交。")
    version = session.get(QuestionnaireVersion, payload["v"])  # the newest is already in the session
    if version is None or version.questionnaire_id != link.questionnaire_id:
        return _refusal(link, "forged", status=400)
    # (the form stored under this key, by this card or not, was found by lookup_link above)
    if found.card_used_at is not None:
        return _refusal(link, "used", used_at=found.card_used_at)
    answers, errors = validate_answers(version_content(version), typed, villages=_villages(link),
                                       fixed_village=link.village)
    if answers is None:
        return _form_page(link, version, token=request.form["form_token"], answers=answers_in, errors=errors,
                          status=422, notice="有题目需要修改，请看红色提示。")
    started = dt.datetime.fromtimestamp(payload["t"], dt.UTC)
    try:
        response, _created = submit(
            session, link=link, version=version, answers=answers, submission_key=payload["k"],
            channel=Channel.CARD if link.kind == LinkKind.CARD else Channel.POSTER,
            started_at=started, network_hash=network, device_hash=device, prechecked=True,
        )
        session.commit()
    except CardUsed as exc:
        session.rollback()
        return _refusal(link, "used", used_at=exc.used_at)
    except OperationalError:
        session.rollback()
        current_app.logger.exception("database error while storing a response")
        return _form_page(link, version, token=request.form["form_token"], answers=answers_in, status=503,
                          notice="服务器暂时繁忙，您的答案没有提交成功，但已保留在本页。请稍后再按一次“提交”。")
    return _page("respond/thanks.html", link=link, response=response, repeat=not _created)


@bp.route("/receipt")
@limiter.limit(lambda: current_app.config["RESPOND_LIMIT_NETWORK"], exempt_when=_limits_on)
def receipt():  # type: ignore[no-untyped-def]
    """Public check: is the response with this receipt code in the record (position and hash only)?"""
    from survey_app.services.collection import normalize_receipt
    from survey_app.services.integrity import receipt_status

    code = normalize_receipt(clean_text(request.args.get("code") or ""))[:20]
    found = receipt_status(get_session(), code) if code else None
    return _page("respond/receipt.html", status=200 if found or not code else 404, code=code, found=found)
