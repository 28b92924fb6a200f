"""The lesson's words: structure of the eight steps, the glossary and FAQ, and guards
that every text is the project's own (no run of eight words from the seed page), plain,
free of issue numbers, and filled with live numbers for every dataset."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from playground.lesson import live
from playground.lesson.content import (
    LESSON_DATASET,
    START_KINDS,
    START_MODEL,
    STEPS,
    TOTAL,
    VIEWS,
)
from playground.lesson.glossary import FAQ, GLOSSARY
from playground.lesson.tasks import PREDICATES
from playground.spec import KINDS, parse_layers
from pycnn.datasets import available, info

SEED_FILE = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_90341bc9eb318b5e.txt"
RUN = 8
JARGON = ("utilize", "leverage", "paradigm", "hierarch", "topology", "seamless", "cutting-edge")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def seed_runs_in(text: str) -> list[str]:
    w = words(text)
    runs = (" ".join(w[i : i + RUN]) for i in range(len(w) - RUN + 1))
    return [r for r in runs if hashlib.sha256(r.encode()).hexdigest()[:8] in SEED_RUNS]


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9'(])", text.strip()) if s]


def assert_own_plain_words(text: str) -> None:
    """No 8-word run of the seed, no issue numbers, no jargon, no sentence over 35 words."""
    assert not seed_runs_in(text), f"copied from the seed page: {seed_runs_in(text)} in {text!r}"
    assert not re.search(r"\bissue\b|#\d", text, re.IGNORECASE), text
    assert not [j for j in JARGON if j in text.lower()], text
    for sentence in sentences(text):
        assert len(sentence.split()) <= 35, f"sentence too long for a learner: {sentence!r}"


def texts(facts: dict[str, str]) -> list[str]:
    """Every text of the lesson content, filled in as the page shows it."""
    out = list(VIEWS.values())
    for step in STEPS:
        fill = dict(facts, target="" if step.target is None else f"{step.target:.2f}")
        out += [step.title, step.card.format(**fill), step.task.format(**fill)]
        out += [m.text.format(**fill) for m in step.milestones]
        out.append(step.question.prompt.format(**fill))
        for a in step.question.answers:
            out += [a.text.format(**fill), a.feedback.format(**fill)]
    out += [t.name for t in GLOSSARY] + [t.text for t in GLOSSARY]
    out += [f.question for f in FAQ] + [f.answer for f in FAQ]
    return out


DATASETS = [info(name) for name in available()]


def test_the_seed_fingerprint_matches_the_seed_page_where_it_is_at_hand():
    if not SEED_FILE.exists():
        pytest.skip(f"the seed page is not next to this checkout ({SEED_FILE})")
    w = words(SEED_FILE.read_text(encoding="utf-8"))
    runs = {
        hashlib.sha256(" ".join(w[i : i + RUN]).encode()).hexdigest()[:8]
        for i in range(len(w) - RUN + 1)
    }
    assert runs == SEED_RUNS


def test_the_guard_catches_a_copied_seed_sentence():
    copied = (
        "Hello. A Convolutional Layer solves this by using small grids of weights called filters."
    )
    assert seed_runs_in(copied)
    with pytest.raises(AssertionError, match="copied from the seed"):
        assert_own_plain_words(copied)
    assert not seed_runs_in("A Conv2D layer learns small filters, grids of weights such as 3×3.")


@pytest.mark.parametrize("data", DATASETS, ids=lambda d: d.name)
def test_every_text_is_own_plain_words_and_fully_filled_for_every_dataset(data):
    facts = live.card_facts(data.input_shape, data.num_classes)
    for text in texts(facts):
        assert text.strip()
        assert "{" not in text and "}" not in text, text
        assert_own_plain_words(text)


def test_eight_steps_numbered_in_order_each_with_a_short_card_and_a_view():
    assert TOTAL == 8 == len(STEPS)
    assert [s.number for s in STEPS] == list(range(1, 9))
    facts = live.card_facts((8, 8, 1), 10)
    for step in STEPS:
        fill = dict(facts, target="0.50")
        card = sentences(step.card.format(**fill))
        assert 2 <= len(card) <= 5, (step.number, card)
        assert step.view in VIEWS
        assert step.task and step.milestones


def test_every_question_has_3_or_4_answers_exactly_one_right_and_specific_feedback():
    for step in STEPS:
        answers = step.question.answers
        assert 3 <= len(answers) <= 4, step.number
        assert sum(a.right for a in answers) == 1, step.number
        feedback = [a.feedback for a in answers]
        assert all(f.strip() for f in feedback)
        assert len(set(feedback)) == len(feedback), "each answer explains itself"
        assert len({a.text for a in answers}) == len(answers)
        right = answers[step.question.right_index]
        assert right.feedback.startswith("Right")
        assert not any(a.feedback.startswith("Right") for a in answers if not a.right)


@pytest.mark.parametrize("data", DATASETS, ids=lambda d: d.name)
def test_the_shape_question_has_four_different_numeric_answers_on_every_dataset(data):
    step = STEPS[3]
    facts = live.card_facts(data.input_shape, data.num_classes)
    shown = [a.text.format(**facts) for a in step.question.answers]
    assert len(set(shown)) == 4, shown
    h, w = data.input_shape[:2]
    assert shown[step.question.right_index] == f"{h - 2}×{w - 2}"  # 3×3, valid, stride 1


def test_the_right_answers_are_not_always_in_the_same_place():
    places = [step.question.right_index for step in STEPS]
    assert len(set(places)) >= 3, places


def test_every_milestone_has_a_predicate_and_loss_milestones_have_targets():
    for step in STEPS:
        for m in step.milestones:
            assert m.key in PREDICATES, m.key
            assert (m.key == "loss") == (m.target is not None)
            assert set(m.needs) <= set(KINDS)
        if step.predict is not None:
            assert step.predict in [m.key for m in step.milestones]


def test_blocks_unlock_one_by_one_until_every_kind_is_open():
    assert set(START_KINDS) < set(KINDS)
    unlocked = [k for step in STEPS for k in step.unlocks]
    assert len(unlocked) == len(set(unlocked))
    assert set(START_KINDS) | set(unlocked) == set(KINDS)
    assert not set(START_KINDS) & set(unlocked)
    # the task that unlocks blocks is a training target (unlock layers by reducing loss)
    for step in STEPS:
        assert bool(step.unlocks) == (step.target is not None), step.number


def test_targets_are_shown_on_their_cards():
    for step in STEPS:
        if step.target is not None:
            assert "{target}" in step.task, step.number


def test_the_first_model_uses_only_the_first_blocks_and_the_lesson_dataset():
    assert START_MODEL.startswith(f"?dataset={LESSON_DATASET}&layers=")
    blocks = parse_layers(START_MODEL.split("layers=")[1])
    assert {b.kind for b in blocks} <= set(START_KINDS)


def test_glossary_has_the_twelve_terms_and_a_short_faq():
    names = [t.name for t in GLOSSARY]
    blocks = [kind.keras for kind in KINDS.values()]  # every block of the palette
    ideas = ["stride", "padding", "parameter", "feature map", "loss", "validation split"]
    assert names == blocks + ideas
    assert 3 <= len(FAQ) <= 8
    for entry in FAQ:
        assert entry.question.endswith("?")
        assert 1 <= len(sentences(entry.answer)) <= 4


def test_the_lesson_code_names_no_issue_numbers():
    for path in Path(live.__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bissue\s*\d|#\d+\b", text, re.IGNORECASE), path.name


# The seed page's fingerprint, used by seed_runs_in: sha256[:8] of every run of 8 words (lower case, [a-z0-9]+ tokens) of the seed page
# ../shared/seed/000_90341bc9eb318b5e.txt, so the guard runs without the seed text.
_SEED_RUNS = """
    00028d1f 00ae56c4 00bc141a 0107a44e 012b422e 017f681f 01ff6e4f 022effae 0259f2c1 02a12c8c
    02be184a 0342d9a0 03ad099e 03cf5c01 03d778a6 03de59b1 041cdb2f 041e9a6b 042d82c8 0460c7e2
    04c4e012 04d8aa6f 05871310 05fc2e78 0605ce24 06366562 0685ec00 068c4465 06b95a90 07331d4a
    07543f7d 076e92c9 08651fd1 090725f0 09eeca24 0a08ac4e 0acc3d34 0ada0af5 0adc7b19 0b2ecb0c
    0b72f507 0c12a91c 0c29247a 0cb81179 0ccaf9df 0cd9c3f9 0d2c2a85 0d8b3e58 0eae33a3 0f2a4b58
    103064dd 120bff8e 123cd724 138134e5 14083d67 14405ddf 1469fa48 1474e86a 14781630 152b156d
    152c67bd 15c6bf56 16160ea7 16b89387 16e7d0dc 176d68b8 1791f6fc 180fa9af 1810f492 184df987
    18582b84 187b59b2 188a5a14 1981978e 19865fe5 199aceec 1a276278 1a6b21ea 1a995aa2 1af77084
    1b1f79f1 1b2799e9 1b823cf9 1ceedb85 1cf07170 1dc885d0 1df8e7a1 1e0164fd 1e4c2af9 1e9fd483
    1f50e799 1fdb54c3 1fe43c53 20546290 219875aa 21a6ce08 21b41dd9 222a3b54 2233613e 22de87c0
    2315bbc2 23a53032 242ab843 24b5a2e0 25204940 2551f5a0 25608cc0 25a900cd 2646ab4a 2647272a
    272c83ea 2782773c 27aff9ed 280862c9 283acbc4 2899b315 28cbde8e 29194a2c 2965eaf2 29a0c9e8
    29cf5a1a 2a1737af 2a2a44de 2afa705c 2b8638e0 2bd1975b 2cc0a1ae 2cf1ba86 2dbab7a9 2dc3b069
    2dc7e370 2eca5138 2f676d52 2f9c9808 2fcf121a 2ff4add6 304ecda6 3062de82 307851b4 30a59d60
    30bb6757 31ce77f7 31d43f22 31e6864d 3220f523 32211260 3244523c 325487c6 326947f4 32c699d3
    32cb1068 32e0d8ef 32f3d638 32f75484 3329cfc0 338d5c3c 340ac0dc 34221f00 345b58ea 348d5799
    34e12604 3590023e 35a4b2e0 35b9b41e 365d1b4d 367ba451 36b48f5e 36f3d84f 377a0f10 377a21cb
    3820b3c8 38292e35 38564460 38640282 3971f15c 39e4fcf0 3a8cf8e3 3aefc7e1 3af66615 3b12afa3
    3c826fd1 3cba5eeb 3d27be33 3d3d1277 3d4f2282 3dd95fff 3efd2783 3f034492 3ff5883a 3ffbdca0
    401e98a8 40625d2c 40ff9798 42625fde 42ef5285 43263dd4 43369e1e 4399aed8 43df7b36 4477ae5c
    44974066 44b40364 44bcb6cb 44f06751 451d2bae 472d132e 47726746 47943cef 47a98b3b 47bf24b4
    4811c968 48af9655 49181bdb 496f77eb 49894b98 4a0eb3ef 4af52a00 4bd6c7c3 4c39bc64 4c72647e
    4d729d99 4dde7729 4de2af5a 4e9b3157 4ed504dc 4eea1857 4f1cefe1 4f837db0 500eb551 501984cd
    5019b929 50d76665 51043b88 5162e304 52416f33 52517d27 527b4fd3 52ab1d05 5352edb7 53b05fb8
    53beabc8 53f76f5f 53fa3ed4 5456f88a 545ae178 5537979a 559402ed 55b5bde4 5743c68e 576d5b50
    57c36c85 57f59567 58e2c430 5956b310 59ff9364 5a343463 5b538d98 5b5f88be 5b7e5a47 5b860d26
    5bd90267 5c54eb89 5cce78b7 5ce18d61 5d120ed4 5d3471de 5dcca37f 5e0f63dd 5ec5a0cd 5ec9fb03
    5fb2a319 5ff4f12c 604284c6 614a4124 61636f6c 621a3937 62543b13 62ed3cb5 6424b2d4 64d2b957
    64ff3e78 655f4bec 65b66083 661ecd62 66275bea 667ce3b9 66938556 670b128d 674e29f1 67d4d822
    681d6176 68784e3b 687c50cc 688d8f75 68bfb0ef 68d53086 692d2513 69d7ffa2 6a282b1d 6aa562f0
    6b3dfb00 6b96bc06 6c06e128 6c1c26bd 6cb31675 6cc960b8 6ce15ac4 6d238453 6d5760d2 6d65e20c
    6da34d4f 6dcef4f7 6df191c5 6e05999d 6e498ba3 6eb8b858 6f414ab3 6f671050 6fbd40e4 709a48cf
    713b8e47 7173435b 71d2d0b0 7257e4ec 7279c593 72a5c941 72bd6d25 7302fdd6 733480d6 73a2600e
    73e18b6c 7401a2ef 7440ec00 746958db 74ceed07 74daf140 75079fad 75970ab3 7626261e 76273b53
    769d670e 76c8cf9d 773b969f 78b5a084 78f0ffba 7985d326 79ab853f 7a180dbd 7a9fe673 7ab41ca5
    7abbc18f 7b2bf633 7be58800 7bfa054d 7c2aa364 7c502424 7d372465 7d587be5 7d99a322 7dab1cfc
    7eb21420 7f3d9e20 7f881637 81792511 8191743c 81ef84b1 82417403 82527a10 826c671b 827e7dba
    836e538f 8391f122 83b59506 83e36e77 840db121 8452b676 84e16c0c 85c6b282 85f1623d 8644d16c
    86762d2c 86b3aa91 86c4c4ba 86e6a98a 874e5075 875ad2a8 87a66b22 88003561 88dd3fda 88f23b3d
    88f56c5d 8914595b 8a733844 8a9f0caa 8ab0dee2 8af032a1 8b08deff 8b5f7d1c 8b9de249 8bd7c8a8
    8c2c9142 8c59a642 8c66884e 8cd5e371 8d22d3f0 8d3b10bf 8d99c9cc 8db3d983 8e14245f 8e230161
    8e6f9a1f 8ee1be01 8f341891 8f5afca7 8f86d00d 90259581 90b3fdfe 9129b29d 9181e534 922ab58d
    9312224e 94692625 94e49e4a 94f9a7d8 9509ab3e 95b58150 964b9e5a 96c683c9 96fb6540 9714c208
    97469af5 988b898e 98989141 98d345e2 992c6e4d 99406ad3 99a825f2 99ba2e4b 9adc7a82 9b8e490a
    9b93a76a 9ba0fd26 9bc31ce9 9bd47dad 9c02fe77 9c176da7 9c7bf551 9ced94d9 9d7a687b 9dd6b690
    9e1c14b7 9e528d72 9e691568 9e697a13 9e7ea6b8 9fbaf774 9fd0c835 a0b24a9d a11ae0a2 a13c655a
    a16d881d a1fecc70 a2a8c4c3 a2b0def4 a2e21da9 a4868700 a49343b7 a4ba029e a4cf3974 a51c59d5
    a57d062f a62fc990 a70a6843 a76c8651 a82d9f4d a994a5ae a9f51ae2 aa12130f aa30f49f ab50cdee
    ab8e79a3 abb7db09 ac0d1de2 ac134faa ac850c45 aca72383 acbb52f3 ad1cf074 ad39e366 ad6a45c2
    ad6b3fce ad70413f add3b53c ae059119 ae0bc68f ae2a55b2 ae6aab4c af04b484 af26f917 af60c1c7
    af60f704 af6365fd af69cf5e af84c999 aff1ffb8 b002d095 b056d9b1 b08391d2 b219f147 b23cb7d7
    b25f5dc7 b2ad28a5 b2d123d2 b326c367 b344c531 b3715c05 b3898491 b3b73682 b3cbca3d b3fd14ec
    b3ff1b1c b4397125 b477e836 b4a17947 b51759a2 b536ef7b b576d3af b577855e b5bd451d b8494fb2
    b850a9a2 b97b910e b98ca72c ba1940f7 ba3d7ba5 ba6cc9d4 bac5921c bb558bd6 bb8d11e4 bbc5a402
    bc44ee9c bd389595 bd3f6660 bef0b200 bf2a1520 bf2c619d bf45189e bfc72ac9 bfd54138 c049c473
    c0739c82 c0789c97 c0fa6383 c1227384 c1cbd077 c33700dd c368564e c3b0f979 c3c09b45 c42045bf
    c45a2ade c498a671 c4f0973e c527c974 c6083e49 c649984d c683fce3 c6b2d8f5 c6f291bb c6f9b845
    c7657f77 c791c5e9 c7c66b3f c7ee7282 c8177823 c88834b3 c8fc119a c928d577 c94e359a c999a041
    ca3d44c7 caa673f0 cac9dd8e caf46bea cb618c72 cbaac624 cbb1ec15 cc0cfd4e cc848396 cce678aa
    cd5af17a ce09bf32 ce12b479 ce594a8f ce7ad6fb cf38ce95 cf5b4668 cfb3382d cfc215c0 cffb848e
    d0034ee2 d073b802 d0c3ca13 d0f564cf d17e4021 d1d79e66 d2a9707d d339b66c d3502b9e d3678fd6
    d3a7d192 d3be6b49 d4034c46 d4647abe d513dd85 d546ecf0 d583bae4 d5af800c d6415d36 d67ff145
    d6b7295d d6c8484c d7e2b602 d830a17a d8ac667f da267bfd db01ea3d db7421d8 dbf9faf4 dbfa076b
    dc014c5e dcb1d92e dd50c7a1 dd91acb2 de1084e7 de74a7dc df40889b df568fdf e049eb84 e0a1f3cf
    e145d1fb e1f4752f e259ebda e259ffe3 e25a846a e27e4aa5 e2d5e27e e3e38b6e e4071ffb e577c14f
    e5aa3b28 e605a43c e6839474 e68faef9 e6a6572d e6aa1ff3 e7784292 e780a94e e82cbe6f e96cbfc0
    e997ddb7 e9bf3e8a e9cb60a1 e9d8c8bc ea733129 eade91c0 eaefaa1b eb1cd729 eb1d45e7 ebca1745
    eced2ba6 ecf09f13 ed0b98cf ed53b9fe eda9fbf3 edc985b2 ee65b13f ee95da80 ef401e39 f019be43
    f26c8528 f2a5a22c f2e8ef80 f2fd6d25 f30d5831 f3668c22 f3c621ea f3ddb93d f4c4cd9c f51e14f9
    f528962d f5c9d01c f6b1350c f71a642a f7c520f5 f8dd50e8 f8e5e6ca f906230b f951c4a9 f9eafd0c
    fa320cc4 fac501cc fb87940f fd05844b fed97eb3 ff99fa9b ffaf8531
"""
SEED_RUNS = frozenset(_SEED_RUNS.split())
