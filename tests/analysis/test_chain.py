"""The canonical record cut around the chain position hashes exactly as the whole record."""

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.chain import AUDIT_FIELDS, canonical, canonical_around, row_hash

text = st.text(max_size=12)
ids = st.none() | st.integers(min_value=1, max_value=10**9)
records = st.fixed_dictionaries({
    "receipt": text, "questionnaire_id": ids, "version_id": ids, "link_id": ids, "card_id": ids,
    "village_id": ids, "channel": st.sampled_from(["poster", "card", "paper"]), "satisfaction": text,
    # answer keys may even be named like the hashed fields
    "answers": st.dictionaries(st.sampled_from(["satisfaction", "chain_seq", "zz", "a", '"chain_seq":']), text),
    "comment": text, "submitted_at": st.datetimes().map(lambda d: d.isoformat()), "network_hash": text,
    "device_hash": text, "entered_by": text, "form_no": text, "simulated": st.booleans(), "chain_key": text,
    "supersedes_id": ids, "correction_reason": text,
})


@settings(max_examples=300)
@given(records, st.integers(min_value=0, max_value=10**12))
def test_cut_record_is_the_canonical_record(record, seq):
    before, after = canonical_around(record)
    assert before + str(seq).encode() + after == canonical({**record, "chain_seq": seq})
    prev = "0" * 63 + "1"
    joined = hashlib.sha256(prev.encode() + b"\n" + before + str(seq).encode() + after).hexdigest()
    assert joined == row_hash(prev, {**record, "chain_seq": seq})


def test_cut_works_for_the_audit_fields_and_a_field_first_or_last():
    event = {"at": "2024-05-01T08:00:00Z", "user_id": 3, "actor": "张三", "action": "x", "object_type": "",
             "object_id": "1", "details": {"a": [1, "二"]}, "chain_key": "audit"}
    before, after = canonical_around(event, fields=AUDIT_FIELDS)
    assert before + b"7" + after == canonical({**event, "chain_seq": 7}, AUDIT_FIELDS)
    fields = {"a": int, "m": int, "s": str, "z": int}
    record = {"a": 1, "m": 2, "s": "中", "z": 26}
    for at in ("a", "m", "z"):  # the cut at the first, a middle and the last key
        before, after = canonical_around(record, at=at, fields=fields)
        assert before + b"9" + after == canonical({**record, at: 9}, fields)
