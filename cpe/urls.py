"""The URL map: public pages, learner and staff pages, the API, and the Django admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from cpe.api.api import api

handler403 = "cpe.core.views.permission_denied"
handler404 = "cpe.core.views.page_not_found"
handler500 = "cpe.core.views.server_error"

urlpatterns = [
    path("", include("cpe.public.urls")),
    path("", include("cpe.accounts.urls")),
    path("", include("cpe.regions.urls")),
    path("", include("cpe.registry.urls")),
    path("", include("cpe.catalog.urls")),
    path("", include("cpe.credits.urls")),
    path("", include("cpe.certificates.urls")),
    path("", include("cpe.learning.urls")),
    path("", include("cpe.exams.urls")),
    path("", include("cpe.exams.staff_urls")),
    path("", include("cpe.core.urls")),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    # Uploaded files in development only; production serves them from object storage.
    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
