from django.urls import path

from cpe.accounts import views

app_name = "accounts"

urlpatterns = [
    path("logout/", views.logout_view, name="logout"),
    path("learn/", views.learner_home, name="learner_home"),
    path("staff/login/", views.staff_login_view, name="staff_login"),
    path("staff/login/code/", views.staff_login_code_view, name="staff_login_code"),
    path("staff/login/enrol/", views.staff_login_enrol_view, name="staff_login_enrol"),
    path("staff/", views.staff_home, name="staff_home"),
    path("account/password/", views.password_change_view, name="password_change"),
    path("account/two-factor/", views.two_factor_view, name="two_factor"),
    path("account/two-factor/setup/", views.two_factor_setup_view, name="two_factor_setup"),
    path("staff/users/", views.staff_user_list, name="staff_user_list"),
    path("staff/users/new/", views.staff_user_create_view, name="staff_user_create"),
    path("staff/users/<int:user_id>/", views.staff_user_edit_view, name="staff_user_edit"),
    path(
        "staff/users/<int:user_id>/password/",
        views.staff_user_password_reset_view,
        name="staff_user_password_reset",
    ),
    path(
        "staff/users/<int:user_id>/two-factor/reset/",
        views.staff_user_second_factor_reset_view,
        name="staff_user_second_factor_reset",
    ),
]
