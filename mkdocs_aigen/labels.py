"""What the review marks say, in the site's language: a small message catalog with site overrides.

The language is the theme's (``theme.language``, or ``theme.locale`` for the ``mkdocs`` and
``readthedocs`` themes), or a page's own locale where an i18n plugin sets one; unknown languages fall
back to English. The ``labels`` option overrides any message for every language.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Mapping

from mkdocs_aigen.errors import SettingsError
from mkdocs_aigen.markers import NOTE_TAG

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "banner_title": "Unreviewed AI draft",
        "banner_text": "This page holds drafted sections that no one has reviewed yet ({count}): "
                       "check facts and code before relying on them.",
        "banner_link": "Open the review queue.",
        "label_drafted": "AI draft · awaiting review",
        "label_edited": "AI draft · edited, awaiting review",
        "label_build": "AI draft made by this build · awaiting review",
        "label_placeholder": "No draft yet",
        "sources": "Sources:",
        "code_failed": "Code sample ({language}) failed its check: {error}",
        "status": "Holds AI drafts awaiting review",
        "note": "check facts and code before relying on it.",
        "queue_title": "Review queue",
        "queue_empty": "Nothing awaits review.",
        "queue_summary": "Drafted sections awaiting review: {sections}, on {pages} page(s). "
                         "Approve them with `mkdocs-aigen approve`.",
        "queue_stubs": "Sections in state `stub` have no text in their source: this build drafted them or "
                       "shows a placeholder. Write them into the source for review with `mkdocs-aigen draft`.",
        "queue_topic": "Topic",
        "queue_section": "Section",
        "queue_state": "State",
        "queue_code": "Code",
        "queue_sources": "Sources",
    },
    "de": {
        "banner_title": "Ungeprüfter KI-Entwurf",
        "banner_text": "Diese Seite enthält Entwürfe, die noch niemand geprüft hat ({count}): "
                       "prüfen Sie Fakten und Code, bevor Sie sich darauf verlassen.",
        "banner_link": "Zur Prüfliste.",
        "label_drafted": "KI-Entwurf · Prüfung ausstehend",
        "label_edited": "KI-Entwurf · bearbeitet, Prüfung ausstehend",
        "label_build": "KI-Entwurf aus diesem Build · Prüfung ausstehend",
        "label_placeholder": "Noch kein Entwurf",
        "sources": "Quellen:",
        "code_failed": "Codebeispiel ({language}) hat die Prüfung nicht bestanden: {error}",
        "status": "Enthält ungeprüfte KI-Entwürfe",
        "note": "Fakten und Code prüfen, bevor man sich darauf verlässt.",
        "queue_title": "Prüfliste",
        "queue_empty": "Nichts wartet auf Prüfung.",
        "queue_summary": "Entwürfe, die auf Prüfung warten: {sections}, auf {pages} Seite(n). "
                         "Freigeben mit `mkdocs-aigen approve`.",
        "queue_stubs": "Abschnitte im Zustand `stub` haben keinen Text in ihrer Quelle: dieser Build hat sie "
                       "entworfen oder zeigt einen Platzhalter. `mkdocs-aigen draft` schreibt sie zur Prüfung "
                       "in die Quelle.",
        "queue_topic": "Thema",
        "queue_section": "Abschnitt",
        "queue_state": "Zustand",
        "queue_code": "Code",
        "queue_sources": "Quellen",
    },
    "fr": {
        "banner_title": "Brouillon IA non relu",
        "banner_text": "Cette page contient des sections rédigées que personne n'a encore relues ({count}) : "
                       "vérifiez les faits et le code avant de vous y fier.",
        "banner_link": "Ouvrir la file de relecture.",
        "label_drafted": "Brouillon IA · en attente de relecture",
        "label_edited": "Brouillon IA · modifié, en attente de relecture",
        "label_build": "Brouillon IA de ce build · en attente de relecture",
        "label_placeholder": "Pas encore de brouillon",
        "sources": "Sources :",
        "code_failed": "L'exemple de code ({language}) a échoué à sa vérification : {error}",
        "status": "Contient des brouillons IA non relus",
        "note": "vérifiez les faits et le code avant de vous y fier.",
        "queue_title": "File de relecture",
        "queue_empty": "Rien n'attend de relecture.",
        "queue_summary": "Sections rédigées en attente de relecture : {sections}, sur {pages} page(s). "
                         "Approuvez-les avec `mkdocs-aigen approve`.",
        "queue_stubs": "Les sections à l'état `stub` n'ont pas de texte dans leur source : ce build les a "
                       "rédigées ou affiche un espace réservé. `mkdocs-aigen draft` les écrit dans la source "
                       "pour relecture.",
        "queue_topic": "Sujet",
        "queue_section": "Section",
        "queue_state": "État",
        "queue_code": "Code",
        "queue_sources": "Sources",
    },
    "es": {
        "banner_title": "Borrador de IA sin revisar",
        "banner_text": "Esta página contiene secciones redactadas que nadie ha revisado todavía ({count}): "
                       "comprueba los hechos y el código antes de confiar en ellos.",
        "banner_link": "Abrir la cola de revisión.",
        "label_drafted": "Borrador de IA · pendiente de revisión",
        "label_edited": "Borrador de IA · editado, pendiente de revisión",
        "label_build": "Borrador de IA de esta compilación · pendiente de revisión",
        "label_placeholder": "Aún no hay borrador",
        "sources": "Fuentes:",
        "code_failed": "El ejemplo de código ({language}) no pasó su comprobación: {error}",
        "status": "Contiene borradores de IA sin revisar",
        "note": "comprueba los hechos y el código antes de confiar en ellos.",
        "queue_title": "Cola de revisión",
        "queue_empty": "Nada espera revisión.",
        "queue_summary": "Secciones redactadas pendientes de revisión: {sections}, en {pages} página(s). "
                         "Apruébalas con `mkdocs-aigen approve`.",
        "queue_stubs": "Las secciones en estado `stub` no tienen texto en su fuente: esta compilación las "
                       "redactó o muestra un marcador. `mkdocs-aigen draft` las escribe en la fuente para "
                       "revisarlas.",
        "queue_topic": "Tema",
        "queue_section": "Sección",
        "queue_state": "Estado",
        "queue_code": "Código",
        "queue_sources": "Fuentes",
    },
    "ja": {
        "banner_title": "未レビューの AI 下書き",
        "banner_text": "このページには、まだ誰もレビューしていない下書きのセクションがあります（{count}）。"
                       "内容とコードを確認してから利用してください。",
        "banner_link": "レビュー待ち一覧を開く。",
        "label_drafted": "AI 下書き · レビュー待ち",
        "label_edited": "AI 下書き · 編集済み、レビュー待ち",
        "label_build": "このビルドの AI 下書き · レビュー待ち",
        "label_placeholder": "下書きはまだありません",
        "sources": "出典:",
        "code_failed": "コード例（{language}）がチェックに失敗しました: {error}",
        "status": "レビュー待ちの AI 下書きがあります",
        "note": "内容とコードを確認してから利用してください。",
        "queue_title": "レビュー待ち一覧",
        "queue_empty": "レビュー待ちはありません。",
        "queue_summary": "レビュー待ちの下書きセクション: {sections}（{pages} ページ）。"
                         "`mkdocs-aigen approve` で承認します。",
        "queue_stubs": "状態が `stub` のセクションはソースに本文がありません。このビルドが下書きしたか、"
                       "プレースホルダーを表示しています。`mkdocs-aigen draft` でソースに書き込んでレビューします。",
        "queue_topic": "トピック",
        "queue_section": "セクション",
        "queue_state": "状態",
        "queue_code": "コード",
        "queue_sources": "出典",
    },
    "zh": {
        "banner_title": "未审阅的 AI 草稿",
        "banner_text": "本页包含尚无人审阅的草稿章节（{count}）：依赖其内容前请核对事实和代码。",
        "banner_link": "打开审阅队列。",
        "label_drafted": "AI 草稿 · 待审阅",
        "label_edited": "AI 草稿 · 已编辑，待审阅",
        "label_build": "本次构建生成的 AI 草稿 · 待审阅",
        "label_placeholder": "尚无草稿",
        "sources": "来源：",
        "code_failed": "代码示例（{language}）未通过检查：{error}",
        "status": "包含待审阅的 AI 草稿",
        "note": "依赖其内容前请核对事实和代码。",
        "queue_title": "审阅队列",
        "queue_empty": "没有待审阅的内容。",
        "queue_summary": "待审阅的草稿章节：{sections}，共 {pages} 页。使用 `mkdocs-aigen approve` 批准。",
        "queue_stubs": "状态为 `stub` 的章节在源文件中没有文本：本次构建为其生成了草稿或显示占位内容。"
                       "使用 `mkdocs-aigen draft` 将其写入源文件以供审阅。",
        "queue_topic": "主题",
        "queue_section": "章节",
        "queue_state": "状态",
        "queue_code": "代码",
        "queue_sources": "来源",
    },
}
KEYS = tuple(MESSAGES["en"])
LANGUAGES = tuple(MESSAGES)


def catalog_language(language: str | None) -> str:
    """The catalog's language for a theme or page language (``pt_BR`` → ``pt`` → English)."""
    base = str(language or "en").replace("_", "-").split("-")[0].lower()
    return base if base in MESSAGES else "en"


def theme_language(theme: Mapping) -> str:
    """A theme's language: Material's ``language``, or the ``locale`` of the ``mkdocs``/``readthedocs`` themes."""
    return str(theme.get("language") or theme.get("locale") or "en")


@dataclass(frozen=True)
class Labels:
    """The messages of one language, with the site's overrides over them."""

    language: str = "en"
    overrides: tuple[tuple[str, str], ...] = field(default=())

    def __getitem__(self, key: str) -> str:
        return dict(self.overrides).get(key) or MESSAGES[catalog_language(self.language)][key]

    def text(self, key: str, **values: object) -> str:
        return self[key].format(**values)

    def for_language(self, language: str | None) -> Labels:
        """The same overrides in another language (a page's own locale); ``None`` keeps this one."""
        return Labels(language, self.overrides) if language else self

    def note(self, code: list[dict] = ()) -> tuple[str, ...]:
        """The note lines of a draft written into a source: what it is, and each code sample that failed."""
        lines = [f"**{self['label_drafted']}** ({NOTE_TAG}): {self['note']}"]
        for check in code:
            if check.get("status") == "invalid":
                failed = self.text("code_failed", language=check.get("language") or "code", error="").rstrip()
                error = html.escape(" ".join(str(check.get("error") or "").split()), quote=False)
                lines.append(f"**{failed}** {error}".rstrip())
        return tuple(lines)


def parse_overrides(value: object, source: str) -> tuple[tuple[str, str], ...]:
    """The ``labels`` option as overrides; an unknown key or a non-text value names ``source`` and the key."""
    if not isinstance(value, Mapping):
        raise SettingsError(f"{source}: plugins.aigen.labels: expected a mapping of label names to text")
    for key, text in value.items():
        if key not in KEYS:
            raise SettingsError(f"{source}: plugins.aigen.labels.{key}: unknown label; known: {', '.join(KEYS)}")
        if not isinstance(text, str) or not text.strip():
            raise SettingsError(f"{source}: plugins.aigen.labels.{key}: expected non-empty text")
        try:
            text.format(count=0, sections=0, pages=0, language="", error="")
        except (KeyError, IndexError, ValueError) as error:
            raise SettingsError(f"{source}: plugins.aigen.labels.{key}: bad placeholder {error}; "
                                f"the English label shows which ones it takes") from None
    return tuple(sorted(value.items()))
