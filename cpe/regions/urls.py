from django.urls import path

from cpe.regions import views

app_name = "regions"

urlpatterns = [
    path("staff/contacts/", views.staff_bureau_list, name="staff_bureau_list"),
    path("staff/contacts/export/", views.staff_contacts_export, name="staff_contacts_export"),
    path("staff/contacts/<str:code>/", views.staff_bureau_edit, name="staff_bureau_edit"),
    path("staff/rules/", views.staff_policy_list, name="staff_policy_list"),
    path("staff/rules/<str:code>/new/", views.staff_policy_edit, name="staff_policy_new"),
    path("staff/rules/<str:code>/<int:year>/", views.staff_policy_edit, name="staff_policy_edit"),
    path(
        "staff/rules/<str:code>/<int:year>/recompute/",
        views.staff_policy_recompute,
        name="staff_policy_recompute",
    ),
]
