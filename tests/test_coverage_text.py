"""Text features in scripts without spaces or with combining marks: the same story still meets itself."""

from __future__ import annotations

import unicodedata

import pytest

from newsdesk.coverage.engine import Params, doc_assign, pair_similarity
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.text import _tokens, text_features

HOUR = 3600.0

# Per script: two outlets' headlines of one story, worded differently, then unrelated news.
STORIES = {
    "zh": (
        "日本央行宣布加息 结束长达八年的负利率政策",
        "日本央行结束负利率政策 十七年来首次加息",
        ["台风袭击菲律宾北部 数万人被迫撤离", "苹果公司发布新款手机 售价上涨", "中国队世预赛主场不敌韩国队"],
    ),
    "ja": (
        "日銀がマイナス金利解除を決定 17年ぶりの利上げ",
        "日本銀行、マイナス金利政策を解除 利上げは17年ぶり",
        [
            "台風10号が九州に上陸 交通機関に乱れ",
            "新型スマートフォンを発表 価格は据え置き",
            "サッカー日本代表が韓国に勝利",
        ],
    ),
    "ko": (
        "한국은행, 기준금리 동결 결정",
        "한은 기준금리 3.5%로 동결했다",
        ["서울에 첫눈이 내렸다", "삼성전자 신형 스마트폰 공개", "축구 대표팀 일본에 승리"],
    ),
    "th": (
        "นายกรัฐมนตรีประกาศยุบสภา",
        "นายกรัฐมนตรียุบสภาแล้ว",
        ["ฝนตกหนักทำให้น้ำท่วมกรุงเทพ", "ราคาน้ำมันปรับขึ้นอีกครั้ง", "ทีมชาติไทยชนะเวียดนาม"],
    ),
}


def story_of(store: MemoryStore, key: int, at: float, title: str, params: Params) -> int:
    doc_assign(doc_key=key, at=at, features=text_features(title=title), store=store, params=params)
    story = store.story_of(key)
    assert story is not None
    return story


@pytest.mark.parametrize("lang", sorted(STORIES))
def test_the_same_story_joins_in_a_script_written_without_spaces(lang):
    first, second, others = STORIES[lang]
    params = Params()
    store = MemoryStore(centroid_terms=params.centroid_terms)
    story = story_of(store, 1, 0.0, first, params)
    other_stories = {story_of(store, 10 + i, (i + 1) * 60.0, title, params) for i, title in enumerate(others)}
    assert story not in other_stories and len(other_stories) == len(others)
    assert story_of(store, 2, HOUR, second, params) == story

    def score(a: str, b: str) -> float:
        return pair_similarity(a=text_features(title=a), b=text_features(title=b), store=store, params=params)

    assert score(first, second) > max(score(first, other) for other in others)


def test_chinese_and_japanese_are_cut_into_character_pairs_and_numbers_stay_apart():
    words = [word for word, _, dense in _tokens("2024年3月の選挙") if dense]
    assert words == ["年", "月の", "の選", "選挙"]
    assert ("2024", True, False) in _tokens("2024年3月の選挙")
    # Half-width katakana are the same letters as full-width ones.
    assert text_features(title="ｶﾞｿﾘﾝ価格").terms == text_features(title="ガソリン価格").terms
    # Latin words inside Chinese text are words of their own, names included.
    assert text_features(title="苹果在中国发布Apple Watch").names == {"apple", "watch"}


def test_thai_is_cut_into_overlapping_triples():
    words = [word for word, _, dense in _tokens("ยุบสภา") if dense]
    assert words == ["ยุบ", "ุบส", "บสภ", "สภา"]


def test_combining_marks_stay_inside_their_word():
    # Devanagari vowel signs, Arabic vowel points, a decomposed accent: one word each.
    assert len(_tokens("प्रधानमंत्री ने संसद को संबोधित किया")) == 6
    assert len(_tokens("الرَّئِيسُ")) == 1
    decomposed = unicodedata.normalize("NFD", "Café Müller")
    assert text_features(title=decomposed) == text_features(title="Café Müller")
    # A lone mark or a lone hard sign is no word, and no error.
    assert _tokens("\u0301 ъ x") == [("x", False, False)]
    # Underscores separate words, as before.
    assert [w for w, _, _ in _tokens("Bier__und_Wein")] == ["bier", "und", "wein"]


def test_a_cjk_lead_is_cut_at_a_third_of_the_characters():
    long_body = "".join(chr(0x4E00 + i) for i in range(1000))  # 1,000 different ideographs
    cut = text_features(title="", body=long_body, body_chars=600)
    whole = text_features(title="", body=long_body[:200], body_chars=600)
    assert cut.terms == whole.terms and len(cut.terms) == 199
    latin = text_features(title="", body="word " * 200, body_chars=600)
    assert latin.terms == text_features(title="", body="word " * 120, body_chars=600).terms


def test_arabic_spelling_variants_meet():
    # Teh marbuta written as heh, alef maksura as yeh, a stretched word, Persian letters.
    assert text_features(title="المدرسة الجديدة").terms == text_features(title="المدرسه الجديده").terms
    assert text_features(title="مصطفى").terms == text_features(title="مصطفي").terms
    assert text_features(title="الرئيـــس").terms == text_features(title="الرئيس").terms
    assert text_features(title="کتابی").terms == text_features(title="كتابي").terms


# --- The fast paths give what the general rules give (h22cpu) ----------------------------


def test_ascii_text_folds_as_the_general_rule_folds_it():
    from newsdesk.coverage.text import _fold, text_fold, word_fold

    every_char = "".join(chr(c) for c in range(128))
    samples = [every_char, "Mexico City", "ISTANBUL", "6.1 magnitude", "O'Neill-Smith", "A_B", "\t\n"]
    for text in samples + list(every_char):
        assert text_fold(text) == _fold(text)
        assert word_fold(text) == _fold(text)
    # Not ASCII: the general rule, remembered per word.
    for word in ("Erdoğan", "Зеленский", "Straße", "Zürich", "Łódź", "القاهرة"):
        assert word_fold(word) == text_fold(word) == _fold(word)
        assert word_fold(word) == word_fold(word)
    assert text_fold("Erdoğan") == "erdogan" and text_fold("Straße") == "strasse"


def test_every_place_name_is_looked_up_from_its_first_word():
    from newsdesk.coverage.particulars import _place_index, _place_longest, text_particulars

    longest = _place_longest()
    for key in _place_index()[0]:
        assert longest[key[0]] >= len(key), key
    # Names of one to several words, the longest one taken.
    found = text_particulars(
        title="Sismo en la Ciudad de México",
        body="Residentes de Buenos Aires y de Nueva York lo sintieron el 14 de diciembre.",
    )
    assert found == {
        "c:America/Argentina/Buenos_Aires", "c:America/Mexico_City", "c:America/New_York", "d:12-14",
        "m:diciem", "p:AR", "p:MX", "p:US", "w:aires", "w:buenos", "w:ciudad", "w:mexico", "w:nueva", "w:york",
    }  # fmt: skip
