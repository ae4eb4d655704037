"""The change log reads in Chinese: actions, fields and values of every kind of record."""
import pytest

from webapp import audit
from webapp.models import AuditEntry


@pytest.mark.parametrize("entry, action, field, before, after", [
    (AuditEntry(entity="plan", action="publish", field="status", before="draft", after="published"),
     "发布", "状态", "草稿", "已发布"),
    (AuditEntry(entity="ledger_row", action="update", field="status", before="not_started", after="done"),
     "修改了", "完成情况", "未开始", "已完成"),
    (AuditEntry(entity="activity", action="approve", field="status", before="submitted", after="approved"),
     "审核通过", "状态", "待审核", "已通过"),
    (AuditEntry(entity="unit", action="create", after='{"name": "教工第三党支部", "kind": "branch"}'),
     "创建", "", "", "名称：教工第三党支部；类型：党支部"),
])
def test_entries_read_in_chinese(app, entry, action, field, before, after):
    with app.test_request_context("/"):
        got = (audit.action_label(entry), audit.field_label(entry),
               audit.value_text(entry, entry.before), audit.value_text(entry, entry.after))
    assert got == (action, field, before, after)


def test_role_change_reads_as_role_names(app):
    entry = AuditEntry(entity="user", action="update", field="role", before="staff", after="secretary")
    with app.test_request_context("/"):
        assert (audit.field_label(entry), audit.value_text(entry, entry.before),
                audit.value_text(entry, entry.after)) == ("角色", "支部委员", "书记")
