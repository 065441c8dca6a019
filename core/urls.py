from django.urls import path

from core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("help/", views.help_page, name="help"),
    path("login/", views.login_page, name="login"),
    path("login/code/", views.login_code_page, name="login-code"),
    path("login/code/enrol/", views.login_code_enrol_page, name="login-code-enrol"),
    path("login/role/", views.login_role_page, name="login-role"),
    path("role/", views.role_switch, name="role-switch"),
    path("logout/", views.logout_page, name="logout"),
    path("session/", views.session_state, name="session-state"),
]
