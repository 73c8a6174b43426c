from django.urls import path

from cpe.public import views

app_name = "public"

urlpatterns = [
    path("", views.home, name="home"),
    path("notices/<int:notice_id>/", views.notice_detail, name="notice_detail"),
    path("help/", views.help_page, name="help"),
    path("query/", views.credit_query, name="credit_query"),
    path("staff/notices/", views.staff_notice_list, name="staff_notice_list"),
    path("staff/notices/new/", views.staff_notice_edit, name="staff_notice_create"),
    path("staff/notices/<int:notice_id>/", views.staff_notice_edit, name="staff_notice_edit"),
    path("staff/office-keys/", views.staff_office_keys, name="staff_office_keys"),
    path(
        "staff/office-keys/<int:key_id>/revoke/",
        views.staff_office_key_revoke,
        name="staff_office_key_revoke",
    ),
]
