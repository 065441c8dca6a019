from django.urls import path

from core.views import home, signin

urlpatterns = [
    path("", home.home, name="home"),
    path("help/", home.help_page, name="help"),
    path("login/", signin.login_page, name="login"),
    path("login/code/", signin.login_code_page, name="login-code"),
    path("login/code/enrol/", signin.login_code_enrol_page, name="login-code-enrol"),
    path("login/role/", signin.login_role_page, name="login-role"),
    path("role/", signin.role_switch, name="role-switch"),
    path("logout/", signin.logout_page, name="logout"),
    path("session/", signin.session_state, name="session-state"),
]
