"""Several texts in one provider request, where the provider's protocol takes them.

deep-translator's ``translate_batch`` sends one request per text, so these
speak each provider's documented protocol themselves, with the settings of the
deep-translator object (URL, key, language codes), through the ``requests``
that deep-translator's provider module uses: :mod:`.providers` replaced it
with its deadline-bound stand-in, so statuses, ``Retry-After`` and deadlines
are recorded as for one text. Google's web endpoint (what deep-translator
calls) and MyMemory take one text a request.
"""

from __future__ import annotations

from deep_translator import deepl as _dt_deepl
from deep_translator import libre as _dt_libre
from deep_translator import microsoft as _dt_microsoft
from deep_translator.base import BaseTranslator


def _answer(response) -> object:
    if response.status_code >= 400:
        raise ValueError(f"HTTP {response.status_code}")  # classified by its recorded status
    return response.json()


def deepl_many(translator: BaseTranslator, texts: list[str]) -> list[str | None]:
    """DeepL: the ``text`` parameter once per text; ``translations`` answers them in order."""
    params = [("auth_key", translator.api_key), ("source_lang", translator._source)]
    params += [("target_lang", translator._target), *(("text", text) for text in texts)]
    data = _answer(_dt_deepl.requests.get(translator._base_url + "translate", params=params))
    return [item.get("text") for item in data["translations"]]  # type: ignore[index]


def microsoft_many(translator: BaseTranslator, texts: list[str]) -> list[str | None]:
    """Azure Translator v3: a JSON array of ``{"text": ...}``, one answer object per element, in order."""
    params = {**translator._url_params, "from": translator._source, "to": translator._target}
    body = [{"text": text} for text in texts]
    response = _dt_microsoft.requests.post(translator._base_url, params=params, headers=translator.headers, json=body)
    return ["\n".join(t["text"] for t in item["translations"]) for item in _answer(response)]  # type: ignore[union-attr]


def libre_many(translator: BaseTranslator, texts: list[str]) -> list[str | None]:
    """LibreTranslate: ``q`` as an array in the JSON body; ``translatedText`` is then an array too."""
    body = {"q": texts, "source": translator._source, "target": translator._target, "format": "text"}
    if translator.api_key and translator.api_key != "-":
        body["api_key"] = translator.api_key
    data = _answer(_dt_libre.requests.post(translator._base_url + "translate", json=body))
    return list(data["translatedText"])  # type: ignore[index]
