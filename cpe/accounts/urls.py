from django.urls import path

from cpe.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("learn/", views.learner_home, name="learner_home"),
    path("staff/login/", views.staff_login_view, name="staff_login"),
    path("staff/", views.staff_home, name="staff_home"),
]
