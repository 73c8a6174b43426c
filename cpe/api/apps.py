from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "cpe.api"
    verbose_name = "API"
