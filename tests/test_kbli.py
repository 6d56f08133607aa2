"""The shipped KBLI 2020 list: complete at the top two levels, consistent hierarchy, the land-use codes the
ITBX tables use, and the lookups (title, groups, search) the conformity check and the map's search box use."""

import csv
import re
import string

from layers import kbli

# KBLI 2020 follows ISIC Rev. 4: the golongan pokok of each category
DIVISIONS = {
    "A": range(1, 4), "B": range(5, 10), "C": range(10, 34), "D": [35], "E": range(36, 40), "F": range(41, 44),
    "G": range(45, 48), "H": range(49, 54), "I": range(55, 57), "J": range(58, 64), "K": range(64, 67),
    "L": [68], "M": range(69, 76), "N": range(77, 83), "O": [84], "P": [85], "Q": range(86, 89),
    "R": range(90, 94), "S": range(94, 97), "T": range(97, 99), "U": [99],
}
LAND_USE_CODES = ["01111", "10110", "10750", "13111", "16101", "22111", "24101", "25111", "41011", "46900",
                  "47111", "52101", "55110", "56101", "68111", "68130", "86103", "851", "852", "853"]


def test_the_file_is_a_clean_code_title_list():
    with open(kbli.DATA, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["kode", "judul", "judul_en"]
    codes = [r["kode"] for r in rows]
    assert len(codes) == len(set(codes)), "duplicate codes"
    for r in rows:
        assert re.fullmatch(r"[A-U]|\d{2,5}", r["kode"]), r
        assert r["judul"].strip() == r["judul"] and len(r["judul"]) > 2, r
        assert r["judul_en"].strip() == r["judul_en"], r  # English where known, else empty
    assert len(kbli.load()) == len(rows)


def test_all_categories_and_divisions():
    items = kbli.load()
    assert sorted(k for k in items if k.isalpha()) == list(string.ascii_uppercase[:21])
    expected = {f"{d:02d}" for ds in DIVISIONS.values() for d in ds}
    assert len(expected) == 88
    assert {k for k in items if len(k) == 2} == expected
    assert items["C"] == "Industri Pengolahan" and items["10"] == "Industri Makanan"


def test_every_group_has_its_division_and_the_land_use_codes_are_there():
    items = kbli.load()
    for code in items:
        if code.isdigit() and len(code) > 2:
            assert code[:2] in items, f"{code} has no division"
    for code in LAND_USE_CODES:
        assert code in items, code
    assert "Minimarket" in items["47111"] and items["68130"] == "Kawasan Industri"
    assert items["56101"] == "Restoran" and items["55110"] == "Hotel Bintang"


def test_title_groups_and_is_kbli():
    assert kbli.title("10750") == "Industri Makanan dan Masakan Olahan"
    assert kbli.title(" c ") == "Industri Pengolahan"
    assert kbli.title("99999") is None
    assert kbli.groups("10750") == ["10750", "1075", "107", "10"]
    assert kbli.groups("01111") == ["01111", "0111", "011", "01"]
    assert kbli.groups("107") == ["107", "10"]
    assert kbli.groups("1") == [] and kbli.groups("10A50") == [] and kbli.groups("123456") == []
    assert kbli.is_kbli("01111") and kbli.is_kbli("68")
    assert not kbli.is_kbli("1") and not kbli.is_kbli("123456") and not kbli.is_kbli("C")
    assert not kbli.is_kbli(1071)  # a number has lost its leading zeros: codes are text
    assert kbli.load() is kbli.load()


def test_search_by_code_prefix_and_title_words():
    by_code = kbli.search("107")
    assert by_code[0]["kode"] == "107" and all(r["kode"].startswith("107") for r in by_code)
    assert {"1071", "10710", "10750"} <= {r["kode"] for r in by_code}
    assert len(kbli.search("1", limit=5)) == 5

    assert [r["kode"] for r in kbli.search("rumah sakit swasta")] == ["86103"]
    hotels = {r["kode"] for r in kbli.search("HOTEL bin")}
    assert {"5511", "55110"} <= hotels and "55120" not in hotels  # hotel melati does not match "bin"
    assert "47111" in {r["kode"] for r in kbli.search("minimarket")}
    assert kbli.search("kawasan ind") == [{"kode": "68130", "judul": "Kawasan Industri",
                                           "judul_en": "Industrial estates"}]
    assert kbli.search("c") == [{"kode": "C", "judul": "Industri Pengolahan", "judul_en": "Manufacturing"}]
    assert kbli.search("") == [] and kbli.search("zzzz") == []


def test_english_titles_for_every_category_and_the_sample_itbx_codes():
    english = kbli.load_en()
    assert all(english.get(c) for c in string.ascii_uppercase[:21])
    assert kbli.title_en("C") == "Manufacturing" and kbli.title_en("10710") == "Manufacture of bread and cakes"
    assert kbli.title_en("10750") is None  # no English title known: none invented
    assert set(english) <= set(kbli.load())
