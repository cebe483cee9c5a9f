"""First-run setup, login and logout, and the checks that guard every admin page."""
import functools

from flask import (
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from waken import db
from waken.admin import bp
from waken.admin.accounts import (
    admin_exists,
    authenticate,
    credentials,
    discard_setup_code,
    save_admin,
    setup_code,
    setup_code_matches,
)
from waken.admin.forms import login_form, read_form, sentence, setup_form
from waken.auth.sessions import current_admin_id, end_session, start_session
from waken.edge.limits import count_login_attempt, record_login_success
from waken.errors import ApiError, Invalid
from waken.i18n.messages import error_sentence


def login_required(view):
    """Admin pages: without a session, go to the login page (or to setup on a new instance)."""
    @functools.wraps(view)
    def guarded(*args, **kwargs):
        if current_admin_id() is not None:
            return view(*args, **kwargs)
        session.pop("admin_id", None)
        session.pop("sid", None)
        if not admin_exists():
            return redirect(url_for("admin.setup"))
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("admin.login", next=target))
    return guarded


def api_login_required(view):
    """Admin JSON under /api: 401 without an admin session."""
    @functools.wraps(view)
    def guarded(*args, **kwargs):
        if current_admin_id() is None:
            raise ApiError(401, "Sign in to the admin panel first: this needs an admin session.", code="auth.admin_session_required")
        return view(*args, **kwargs)
    return guarded


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first admin, proving access to the server's log with the setup code."""
    if admin_exists():
        return redirect(url_for("admin.login"))
    if request.method == "GET":
        setup_code()   # make sure there is one to find in the log
        return render_template("admin/setup.html", errors={}, values={})
    values, errors = read_form(setup_form)
    if values:
        count_login_attempt()   # 429 once this address has guessed too often
        if not setup_code_matches(values["code"]):
            errors = {"code": "That is not the setup code printed in the server's log."}
    if not errors:
        try:
            checked = credentials(values["username"], values["password"])
        except Invalid as err:
            errors = {err.field: sentence(error_sentence(err.code, err.params, err.message))}
    if errors:
        return render_template("admin/setup.html", errors=errors, values=request.form), 400
    with db.write():
        admin, _created = save_admin(checked, first=True)
        if admin is not None:
            start_session(admin.id)
    if admin is None:
        return redirect(url_for("admin.login"))   # someone finished setup a moment ago
    discard_setup_code()
    record_login_success()
    flash(_("Welcome, %(name)s. Next: create an API token for your devices.", name=admin.username), "success")
    return redirect(url_for("admin.overview"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with username and password."""
    if not admin_exists():
        return redirect(url_for("admin.setup"))
    if request.method == "GET":
        return render_template("admin/login.html", errors={}, values={}, next=_safe_next())
    values, errors = read_form(login_form)
    if values:
        # Counted before the hash, so guesses sent together all count; 429 past the limit,
        # or while this process hashes another password.
        count_login_attempt()
        admin = authenticate(values["username"], values["password"])
        if admin is None:
            errors = {"form": "Wrong username or password."}
    if errors:
        status = 401 if values else 400
        return render_template("admin/login.html", errors=errors, values=request.form,
                               next=_safe_next()), status
    record_login_success()
    with db.write():
        start_session(admin.id)
    return redirect(_safe_next() or url_for("admin.overview"))


@bp.post("/logout")
def logout():
    """Sign out for good: the old cookie no longer opens anything (a POST, so no link can do it)."""
    with db.write():
        end_session()
    flash(_("Signed out."), "success")
    return redirect(url_for("admin.login"))


def _safe_next():
    target = request.values.get("next") or ""
    # Only paths inside the admin panel: never another host, never "//evil", and no
    # control or non-ASCII characters, which cannot go into a Location header.
    if (target.startswith("/admin") and not target.startswith("//") and "\\" not in target
            and target.isascii() and target.isprintable() and len(target) <= 2000):
        return target
    return None
