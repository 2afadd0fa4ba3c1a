package export

import (
	"testing"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

func TestNames(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
	}{
		{[]string{"gender", "Gender"}, []string{"gender", "Gender_2"}}, // SPSS names ignore case
		{[]string{"in", "str12", "strL", "with"}, []string{"in_", "str12_", "strL_", "with_"}},
		{[]string{"_private", "1st", "q-1.a"}, []string{"v_private", "v1st", "q_1_a"}},
		{[]string{"问卷", "问题"}, []string{"v__", "v___2"}}, // non-ASCII names become underscores
		{[]string{"a_very_long_question_name_of_forty_chars", "a_very_long_question_name_of_forty_other"},
			[]string{"a_very_long_question_name_of_for", "a_very_long_question_name_of_f_2"}},
	}
	for _, tt := range tests {
		n := newNamer()
		for i, want := range tt.want {
			if got := n.take(tt.in[i]); got != want {
				t.Errorf("take(%q) = %q, want %q", tt.in[i], got, want)
			}
		}
	}
}

func TestDictionaryLanguage(t *testing.T) {
	f := &form.Form{
		ID: "t", DefaultLanguage: "中文 (zh)", Languages: []string{"中文 (zh)", "English (en)"},
		Survey: []*form.Question{{Type: "select_one", ListName: "yn", Name: "ok", Label: form.Text{"中文 (zh)": "同意吗", "English (en)": "Agree?"}}},
		Choices: map[string][]form.Choice{"yn": {
			{Name: "yes", Label: form.Text{"中文 (zh)": "是", "English (en)": "Yes"}},
			{Name: "no"}, // no label: the name stands in
		}},
	}
	for _, tt := range []struct{ lang, label, yes, no string }{
		{"", "同意吗", "是", "no"},
		{"en", "Agree?", "Yes", "no"},
		{"English (en)", "Agree?", "Yes", "no"},
	} {
		d, err := NewDictionary(store.FormVersion{FormID: "t"}, f, Options{Language: tt.lang})
		if err != nil {
			t.Fatal(err)
		}
		v := d.Variables[len(d.Variables)-1]
		labels := d.ValueLabels[v.ValueLabels].Labels
		if v.Name != "ok" || v.Label != tt.label || labels[0].Label != tt.yes || labels[1].Label != tt.no {
			t.Errorf("language %q: %s %q, labels %q %q; want ok %q, %q %q", tt.lang, v.Name, v.Label, labels[0].Label, labels[1].Label, tt.label, tt.yes, tt.no)
		}
	}
}
