"""Language choice: Simplified Chinese unless the person picked English with the switcher."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class LanguageMiddleware(LocaleMiddleware):
    """Pages ignore the browser's Accept-Language: an accountant's English-language phone
    should not turn the platform English. The switcher's cookie decides; API clients (a
    mobile app) may also ask by Accept-Language."""

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen and translation.check_for_language(chosen):
            language = chosen
        elif request.path.startswith("/api/"):
            language = translation.get_language_from_request(request)
        else:
            language = settings.LANGUAGE_CODE
        translation.activate(translation.get_supported_language_variant(language))
        request.LANGUAGE_CODE = translation.get_language()
