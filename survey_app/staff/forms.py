from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from survey_app.forms_base import BaseForm
from survey_app.models import GROUP_LABELS

ROLE_CHOICES = [SelectChoice("staff", "工作人员"), SelectChoice("auditor", "审计人员"), SelectChoice("admin", "管理员")]


class UploadForm(BaseForm):
    file = FileField("目标表文件（.xlsx、.xls、.docx、.pdf、.csv 或文本）", validators=[FileRequired("请选择要导入的文件")])
    unit_code = StringField("单位编码（文件中没有时填写）", validators=[Optional(), Length(max=32)])
    unit_name = StringField("单位名称（文件中没有时填写）", validators=[Optional(), Length(max=200)])
    year = IntegerField("预算年度（文件中没有时填写）", validators=[Optional(), NumberRange(2000, 2100)])
    submit = SubmitField("预览")


class ConfirmImportForm(BaseForm):
    digest = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{64}$")])
    filename = HiddenField(validators=[DataRequired(), Length(max=300)])
    unit_code = HiddenField(validators=[Optional(), Length(max=32)])
    unit_name = HiddenField(validators=[Optional(), Length(max=200)])
    year = HiddenField(validators=[Optional(), Regexp(r"^\d{4}$")])
    submit = SubmitField("确认导入")


class IndicatorForm(BaseForm):
    respondent_group = SelectField(
        "调查对象", choices=[SelectChoice(g.value, label) for g, label in GROUP_LABELS.items()]
    )
    population = IntegerField("调查对象总数", validators=[Optional(), NumberRange(1, 10_000_000)])
    population_unit = SelectField("单位", choices=[SelectChoice("人", "人"), SelectChoice("村", "个村")])
    submit = SubmitField("保存并确认")


class VillageForm(BaseForm):
    name = StringField("村名", validators=[DataRequired("请填写村名"), Length(max=100)])
    code = StringField("编码（可不填）", validators=[Optional(), Length(max=32)])
    population = IntegerField("村民人数", validators=[Optional(), NumberRange(0, 10_000_000)])
    cadres = IntegerField("村干部人数", validators=[Optional(), NumberRange(0, 10_000)])
    submit = SubmitField("保存")


class VillageImportForm(BaseForm):
    text = TextAreaField(
        "村庄列表（每行：村名,村民人数,村干部人数）",
        validators=[DataRequired("请粘贴村庄列表"), Length(max=200_000)],
    )
    submit = SubmitField("导入")


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (rendered in a fieldset by the forms macro)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def unit_choices(form, units) -> None:  # type: ignore[no-untyped-def]
    """Offer ``units`` as the checkboxes of an account form's 可查看和管理的单位."""
    form.units.choices = [SelectChoice(u.id, f"{u.name}（{u.code}）") for u in units]


ALL_UNITS_LABEL = "全部单位（包括以后导入的单位）"
UNITS_LABEL = "可查看和管理的单位"


class UserForm(BaseForm):
    username = StringField("用户名", validators=[DataRequired("请填写用户名"), Length(max=80)])
    role = SelectField("角色", choices=ROLE_CHOICES)
    password = PasswordField("初始密码（至少 8 位）", validators=[DataRequired("请填写密码")])
    all_units = BooleanField(ALL_UNITS_LABEL)
    units = MultiCheckboxField(UNITS_LABEL, coerce=int, validate_choice=False)
    submit = SubmitField("创建账号")


class UserEditForm(BaseForm):
    role = SelectField("角色", choices=ROLE_CHOICES)
    active = BooleanField("启用")
    password = PasswordField("新密码（不改可留空）", validators=[Optional()])
    all_units = BooleanField(ALL_UNITS_LABEL)
    units = MultiCheckboxField(UNITS_LABEL, coerce=int, validate_choice=False)
    submit = SubmitField("保存")


class SimpleForm(BaseForm):
    """A form with only the CSRF token, for one-button actions."""


class QuestionnaireForm(BaseForm):
    title = StringField("问卷标题", validators=[DataRequired("请填写标题"), Length(max=200)])
    intro = TextAreaField("开头说明（告诉答卷人项目做了什么）", validators=[DataRequired("请填写说明"), Length(max=2000)])
    satisfaction_text = StringField("满意度主问题", validators=[DataRequired("请填写主问题"), Length(max=300)])
    aspects = TextAreaField("分项问题（每行一个，按顺序显示；删去一行即删除该题）", validators=[Length(max=3000)])
    rate_method = SelectField("满意度计算方法", choices=[
        SelectChoice("top2", "满意率：（非常满意+满意）/ 有效答卷，“不了解”不计入"),
        SelectChoice("weighted", "加权得分：100/80/60/40/20 分的平均，“不了解”不计入"),
    ])
    double_entry = BooleanField("纸质问卷双人录入（两人分别录入，一致后才计入）")
    submit = SubmitField("保存草稿")


class CardsForm(BaseForm):
    village = SelectField("村")
    count = IntegerField("再发张数（留空则补足到建议张数）", validators=[Optional(), NumberRange(1, 2000)])
    expected = IntegerField("预计满意率（%）", default=98, validators=[Optional(), NumberRange(1, 100)])
    response_rate = IntegerField("预计回收率（%）", default=70, validators=[Optional(), NumberRange(1, 100)])
    submit = SubmitField("发放卡片")

    def __init__(self, *args, village_choices=(), one_list=False, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if one_list:
            self.village.label.text = "发给"
            self.village.choices = [SelectChoice("all", "全体调查对象（一份名单）")]
            return
        self.village.choices = [SelectChoice("all", "全部村（补足到建议张数）")] + [
            SelectChoice(str(v.id), v.name) for v in village_choices]


class PaperForm(BaseForm):
    channel = SelectField("来源", choices=[SelectChoice("paper", "纸质问卷"), SelectChoice("interview", "访谈录入")])
    form_no = StringField("问卷编号（纸上有编号时填写）", validators=[Optional(), Length(max=32)])
    card_no = IntegerField("卡片编号（问卷是用卡片回收时填写）", validators=[Optional(), NumberRange(1, 100000)])
