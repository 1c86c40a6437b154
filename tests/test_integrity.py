"""Tamper evidence: plant each kind of tampering behind the application's back; each is found and located."""

import csv
import io
import json
import zipfile

import pytest
from sqlalchemy import select, text

from analysis.chain import row_hash
from analysis.verify import verify_bundle
from survey_app.models import ChainHead, Response
from survey_app.services.integrity import bundle, publish_head, verify_database
from tests.test_collection import answer, open_form, poster_of


@pytest.fixture
def responses(client, published, session):
    """Ten answers through one poster link (one chain), two through another."""
    office = published["村办公经费"]
    first, second = poster_of(office), [p for p in office.links if p.kind == "poster" and p.village_id][1]
    for n in range(10):
        _, token = open_form(client, first)
        answer(client, first, token, satisfaction=["满意", "非常满意", "一般"][n % 3])
    for _ in range(2):
        _, token = open_form(client, second)
        answer(client, second, token)
    session.expire_all()
    return session.scalars(select(Response).where(Response.link_id == first.id).order_by(Response.chain_seq)).all()


def kinds(problems):
    return sorted({p.kind for p in problems})


def test_untouched_database_verifies_clean(responses, session, cli):
    assert verify_database(session) == []
    assert [r.chain_seq for r in responses] == list(range(1, 11))
    assert responses[0].prev_hash == "0" * 64 and responses[1].prev_hash == responses[0].row_hash
    result = cli("verify")
    assert result.exit_code == 0 and "通过" in result.output


def test_update_an_answer(responses, session, cli):
    target = responses[4]
    session.execute(text("UPDATE responses SET satisfaction = '非常不满意' WHERE id = :id"), {"id": target.id})
    problems = verify_database(session)
    assert kinds(problems) == ["altered"]
    assert [(p.chain_key, p.seq, p.receipt) for p in problems] == [(target.chain_key, 5, target.receipt)]
    result = cli("verify")
    assert result.exit_code == 1 and target.receipt in result.output and "altered" in result.output


def test_delete_a_row_in_the_middle(responses, session):
    session.execute(text("DELETE FROM responses WHERE id = :id"), {"id": responses[3].id})
    problems = verify_database(session)
    assert any(p.kind == "deleted" and p.seq == 5 and "第 4–4 条" in p.detail for p in problems)


def test_delete_the_last_row(responses, session):
    session.execute(text("DELETE FROM responses WHERE id = :id"), {"id": responses[-1].id})
    problems = verify_database(session)
    assert [(p.kind, p.seq) for p in problems] == [("truncated", 10)]


def test_insert_a_forged_row(responses, session):
    source = responses[2]
    session.execute(text(
        "INSERT INTO responses (questionnaire_id, version_id, link_id, channel, submission_key, receipt, satisfaction, "
        "answers, comment, submitted_at, network_hash, device_hash, entered_by, form_no, simulated, chain_key, "
        "chain_seq, prev_hash, row_hash) SELECT questionnaire_id, version_id, link_id, channel, 'forged', 'FAKE-0001', "
        "'非常满意', answers, comment, submitted_at, network_hash, device_hash, entered_by, form_no, simulated, "
        "chain_key, 11, prev_hash, row_hash FROM responses WHERE id = :id"), {"id": source.id})
    problems = verify_database(session)
    assert ("altered", 11, "FAKE-0001") in [(p.kind, p.seq, p.receipt) for p in problems]
    assert any(p.kind == "inserted" and p.receipt == "FAKE-0001" for p in problems)


def test_insert_a_row_with_a_correct_hash_beyond_the_head(responses, session):
    """Even a forger who recomputes the hash is caught by the chain head the application keeps."""
    last = responses[-1]
    record = {c: getattr(last, c) for c in ("questionnaire_id", "version_id", "link_id", "card_id", "village_id",
                                            "channel", "satisfaction", "answers", "comment", "submitted_at",
                                            "network_hash", "device_hash", "entered_by", "form_no", "simulated")}
    record.update(receipt="FAKE-0002", chain_key=last.chain_key, chain_seq=11)
    forged = row_hash(last.row_hash, record)
    session.execute(text(
        "INSERT INTO responses (questionnaire_id, version_id, link_id, village_id, channel, submission_key, receipt, "
        "satisfaction, answers, comment, submitted_at, network_hash, device_hash, entered_by, form_no, simulated, "
        "chain_key, chain_seq, prev_hash, row_hash) SELECT questionnaire_id, version_id, link_id, village_id, channel, "
        "'forged2', 'FAKE-0002', satisfaction, answers, comment, submitted_at, network_hash, device_hash, entered_by, "
        "form_no, simulated, chain_key, 11, :prev, :hash FROM responses WHERE id = :id"),
        {"id": last.id, "prev": last.row_hash, "hash": forged})
    problems = verify_database(session)
    assert [(p.kind, p.receipt) for p in problems] == [("inserted", "FAKE-0002")]


def test_swap_two_rows(responses, session):
    a, b = responses[1], responses[2]
    session.execute(text("UPDATE responses SET chain_seq = -1 WHERE id = :id"), {"id": a.id})
    session.execute(text("UPDATE responses SET chain_seq = 2 WHERE id = :id"), {"id": b.id})
    session.execute(text("UPDATE responses SET chain_seq = 3 WHERE id = :id"), {"id": a.id})
    problems = verify_database(session)
    assert {p.receipt for p in problems} >= {a.receipt, b.receipt}
    assert "altered" in kinds(problems)


def test_truncate_tail_after_publishing_a_head(responses, session, cli):
    published = publish_head(session, actor="auditor-print")
    session.commit()
    last_two = [r.id for r in responses[-2:]]
    keep = responses[-3]
    # a careful forger deletes the tail and rewinds the chain head so that the chains look whole
    session.execute(text("DELETE FROM responses WHERE id IN (:a, :b)"), {"a": last_two[0], "b": last_two[1]})
    session.execute(text("UPDATE chain_heads SET seq = :s, hash = :h WHERE key = :k"),
                    {"s": keep.chain_seq, "h": keep.row_hash, "k": keep.chain_key})
    problems = verify_database(session, head=published.root)
    assert [(p.kind, p.chain_key, p.seq) for p in problems] == [("truncated", keep.chain_key, 10)]
    result = cli("verify", "--head", published.root)
    assert result.exit_code == 1 and "truncated" in result.output


def test_unknown_head_is_reported(responses, session):
    problems = verify_database(session, head="f" * 64)
    assert [p.kind for p in problems] == ["not_extended"]


def test_appends_lock_only_their_own_chain(responses, session):
    heads = {h.key: h.seq for h in session.scalars(select(ChainHead)) if h.key != "audit"}
    assert sorted(heads.values()) == [2, 10] and all(":l" in k for k in heads)


def test_staff_audit_events_form_a_chain_too(responses, session, cli):
    from survey_app.models import AuditEvent

    events = session.scalars(select(AuditEvent).order_by(AuditEvent.chain_seq)).all()
    assert [e.chain_seq for e in events] == list(range(1, len(events) + 1)) and len(events) > 5
    assert events[1].prev_hash == events[0].row_hash
    target = events[2]
    session.execute(text("UPDATE audit_events SET actor = 'someone else' WHERE id = :id"), {"id": target.id})
    problems = verify_database(session)
    assert [(p.kind, p.chain_key, p.seq) for p in problems] == [("altered", "audit", 3)]
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[4].id})
    assert "deleted" in {p.kind for p in verify_database(session)}


# -- bundle -----------------------------------------------------------------------------------


def _rewrite(bundle_bytes, tmp_path, name, change):
    source = zipfile.ZipFile(io.BytesIO(bundle_bytes))
    out = tmp_path / name
    with zipfile.ZipFile(out, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            target.writestr(item, change(item, data))
    return str(out)


def _edit_csv(data, edit):
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    fields = list(rows[0])
    rows = edit(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture
def exported(responses, session, tmp_path):
    data = bundle(session, actor="auditor")
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    return data, path


def test_exported_bundle_verifies_offline(exported, capsys):
    from analysis.cli import main

    data, path = exported
    report = verify_bundle(str(path))
    assert report.ok and report.checked_rows == 12 and report.checked_figures == 4
    assert main(["verify", str(path)]) == 0
    assert "通过 OK" in capsys.readouterr().out
    names = zipfile.ZipFile(path).namelist()
    assert set(names) == {"manifest.json", "responses.csv", "questionnaire_versions.json", "cards.csv",
                          "exclusions.csv", "audit_log.csv", "sampling.json"}
    header = zipfile.ZipFile(path).read("responses.csv").decode().splitlines()[0]
    assert "network_hash" in header and "ip" not in header.split(",") and "user_agent" not in header


@pytest.mark.parametrize("tamper", ["answer", "delete", "figure", "count"])
def test_tampered_bundle_is_caught(exported, tmp_path, tamper):
    data, _ = exported

    def change(name, content):
        if tamper == "answer" and name == "responses.csv":
            return _edit_csv(content, lambda rows: [dict(r, satisfaction="非常满意") if i == 3 else r
                                                    for i, r in enumerate(rows)])
        if tamper == "delete" and name == "responses.csv":
            return _edit_csv(content, lambda rows: rows[:4] + rows[5:])
        if name == "manifest.json" and tamper in ("figure", "count"):
            manifest = json.loads(content)
            figure = next(f for f in manifest["figures"] if f["valid_n"])
            if tamper == "figure":
                figure["interval"]["lower"] = 0.95
            else:
                figure["valid_n"] += 5
            return json.dumps(manifest, ensure_ascii=False).encode()
        return content

    report = verify_bundle(_rewrite(data, tmp_path, f"{tamper}.zip", change))
    assert not report.ok
    if tamper == "answer":
        assert [p.kind for p in report.problems][:1] == ["altered"] and report.problems[0].seq == 4
    elif tamper == "delete":
        assert any(p.kind == "deleted" for p in report.problems)
    elif tamper == "figure":
        assert any("区间下限 公布值 0.95" in d for d in report.differences)
    else:
        assert any("有效答卷数 公布值" in d for d in report.differences)


def test_bundle_against_a_published_head(responses, session, tmp_path, client, published):
    head = publish_head(session, actor="staff")
    session.commit()
    link = poster_of(published["村办公经费"])
    _, token = open_form(client, link)
    answer(client, link, token)  # the log grows after the head was handed out
    path = tmp_path / "later.zip"
    path.write_bytes(bundle(session, actor="auditor"))
    assert verify_bundle(str(path), head=head.root).ok
    assert not verify_bundle(str(path), head="0" * 64).ok


def test_tampered_audit_log_in_bundle_is_caught(exported, tmp_path):
    data, _ = exported

    def change(name, content):
        if name == "audit_log.csv":
            return _edit_csv(content, lambda rows: [dict(r, actor="nobody") if i == 1 else r for i, r in enumerate(rows)])
        return content

    report = verify_bundle(_rewrite(data, tmp_path, "audit.zip", change))
    assert [(p.kind, p.chain_key, p.seq) for p in report.problems][:1] == [("altered", "audit", 2)]


# -- issue 11: exclusions and questionnaire versions are inside the tamper evidence ---------------


@pytest.fixture
def excluded(responses, session):
    """Two exclusions made through the application, one of them reverted."""
    from survey_app.services.exclusions import exclude, revert_exclusion

    first = exclude(session, responses[0], "重复作答", actor="staff")
    second = exclude(session, responses[1], "测试数据", actor="staff")
    revert_exclusion(session, second, "误排除", actor="staff")
    session.commit()
    return first, second


def test_exclusions_made_by_the_application_verify_clean(excluded, session, cli):
    assert verify_database(session) == []
    assert cli("verify").exit_code == 0


def test_raw_inserted_exclusion_is_caught(excluded, responses, session, cli):
    """A raw INSERT moved a figure from 45/50 to 45/45 unnoticed; now it is reported."""
    target = responses[5]
    session.execute(text("INSERT INTO exclusions (response_id, reason, excluded_by, excluded_at, revert_reason) "
                         "VALUES (:r, '插入', 'nobody', CURRENT_TIMESTAMP, '')"), {"r": target.id})
    problems = verify_database(session)
    assert [(p.kind, p.chain_key, p.receipt) for p in problems] == [("inserted", "exclusions", target.receipt)]
    result = cli("verify")
    assert result.exit_code == 1 and target.receipt in result.output


def test_deleted_exclusion_is_caught(excluded, session):
    session.execute(text("DELETE FROM exclusions WHERE id = :id"), {"id": excluded[0].id})
    assert [(p.kind, p.chain_key) for p in verify_database(session)] == [("deleted", "exclusions")]


@pytest.mark.parametrize("change", ["reason", "response", "unrevert", "revert"])
def test_altered_exclusion_is_caught(excluded, responses, session, change):
    first, second = excluded
    statement, params = {
        "reason": ("UPDATE exclusions SET reason = '别的理由' WHERE id = :id", {"id": first.id}),
        "response": ("UPDATE exclusions SET response_id = :r WHERE id = :id", {"id": first.id, "r": responses[7].id}),
        "unrevert": ("UPDATE exclusions SET reverted_at = NULL, reverted_by = NULL WHERE id = :id", {"id": second.id}),
        "revert": ("UPDATE exclusions SET reverted_at = CURRENT_TIMESTAMP, reverted_by = 'x' WHERE id = :id",
                   {"id": first.id}),
    }[change]
    session.execute(text(statement), params)
    problems = verify_database(session)
    assert problems and {p.chain_key for p in problems} == {"exclusions"}
    assert "altered" in kinds(problems)


def test_altered_questionnaire_version_is_caught(responses, session, cli):
    from survey_app.models import QuestionnaireVersion

    version = session.scalars(select(QuestionnaireVersion).order_by(QuestionnaireVersion.id)).first()
    content = dict(version.content, title="改过的标题")
    session.execute(text("UPDATE questionnaire_versions SET content = :c WHERE id = :id"),
                    {"c": json.dumps(content, ensure_ascii=False), "id": version.id})
    problems = verify_database(session)
    assert [(p.kind, p.chain_key) for p in problems] == [("altered", "versions")]
    assert cli("verify").exit_code == 1


@pytest.fixture
def exported_with_exclusions(excluded, session, tmp_path):
    data = bundle(session, actor="auditor")
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    assert verify_bundle(str(path)).ok
    return data


@pytest.mark.parametrize("tamper", ["insert", "delete", "alter", "version"])
def test_tampered_exclusions_and_versions_in_bundle_are_caught(exported_with_exclusions, responses, tmp_path, tamper):
    data = exported_with_exclusions

    def change(name, content):
        if name == "exclusions.csv" and tamper == "insert":
            return _edit_csv(content, lambda rows: rows + [dict(rows[0], id="999", response_id=str(responses[6].id))])
        if name == "exclusions.csv" and tamper == "delete":
            return _edit_csv(content, lambda rows: rows[1:])
        if name == "exclusions.csv" and tamper == "alter":
            return _edit_csv(content, lambda rows: [dict(r, reason="别的理由") for r in rows])
        if name == "questionnaire_versions.json" and tamper == "version":
            versions = json.loads(content)
            versions[0]["content"]["title"] = "改过的标题"
            return json.dumps(versions, ensure_ascii=False).encode()
        return content

    report = verify_bundle(_rewrite(data, tmp_path, f"{tamper}.zip", change))
    assert not report.ok
    expected = {"insert": "inserted", "delete": "deleted", "alter": "altered", "version": "altered"}[tamper]
    assert expected in {p.kind for p in report.problems}
    assert {p.chain_key for p in report.problems} <= {"exclusions", "versions"}


def test_bundle_figures_are_recomputed_in_full(exported_with_exclusions, tmp_path):
    """The verifier compares every count (responses, 不了解, excluded, per village, per option, per version)
    and recomputes the design itself instead of trusting the manifest."""
    data = exported_with_exclusions
    for what in ("responses", "dont_know", "excluded_by_staff", "design", "village", "option", "version"):
        def change(name, content, what=what):
            if name != "manifest.json":
                return content
            manifest = json.loads(content)
            figure = next(f for f in manifest["figures"] if f["valid_n"])
            if what == "design":
                figure["design"] = "census"
            elif what == "village":
                figure["villages"][0]["n"] += 1
            elif what == "option":
                figure["counts"]["一般"] += 1
            elif what == "version":
                key = next(iter(figure["per_version"]))
                figure["per_version"][key] += 1
            else:
                figure[what] += 1
            return json.dumps(manifest, ensure_ascii=False).encode()

        report = verify_bundle(_rewrite(data, tmp_path, f"{what}.zip", change))
        assert report.differences, what


def test_cli_verify_counts_real_and_simulated_separately(responses, published, session, cli):
    """`survey-app verify` said 473 responses and 10 chains where the page said 12 and 6: label both."""
    from tests.factories import add_responses

    village = published["村办公经费"].indicator.project.unit.villages[0]
    add_responses(session, published["村办公经费"], [(village, 5, 0, 0)], simulated=True)
    result = cli("verify")
    assert result.exit_code == 0
    assert "真实答卷 12 条（2 条链）" in result.output and "演示用模拟答卷 5 条（1 条链，不计入任何结果）" in result.output
