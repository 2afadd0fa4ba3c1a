package security

import (
	"strings"
	"testing"
)

// Valid ID numbers below had their check digits computed separately from
// the GB 11643 weights (7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, "10X98765432");
// 11010519491231002X is the standard's well-known example.
func TestDetectPersonal(t *testing.T) {
	type want struct {
		kind FindingKind
		text string // the exact substring found
	}
	tests := []struct {
		name string
		text string
		want []want
	}{
		// Mobile numbers.
		{"bare mobile", "13812345678", []want{{FindingMobile, "13812345678"}}},
		{"mobile in chinese", "我的电话是13812345678，谢谢", []want{{FindingMobile, "13812345678"}}},
		{"mobile 19x", "手机19912345678。", []want{{FindingMobile, "19912345678"}}},
		{"+86 grouped", "手机：+86 138 1234 5678", []want{{FindingMobile, "+86 138 1234 5678"}}},
		{"+86 joined", "+8613812345678", []want{{FindingMobile, "+8613812345678"}}},
		{"86 joined", "8613812345678", []want{{FindingMobile, "8613812345678"}}},
		{"0086 hyphen", "拨打0086-13812345678", []want{{FindingMobile, "0086-13812345678"}}},
		{"hyphen groups", "138-1234-5678", []want{{FindingMobile, "138-1234-5678"}}},
		{"space groups", "call 138 1234 5678 now", []want{{FindingMobile, "138 1234 5678"}}},
		{"full-width digits", "电话１３８１２３４５６７８", []want{{FindingMobile, "１３８１２３４５６７８"}}},
		{"mixed separators", "138 1234-5678", nil},
		{"groups then letters", "138-1234-5678abc", nil},
		{"groups then more groups", "138-1234-5678-9012", nil},
		{"second digit 2", "12812345678", nil},
		{"second digit 0", "10012345678", nil},
		{"12 digits", "138123456789", nil},
		{"10 digits", "1381234567", nil},
		{"19-digit order number", "订单号2024031512345678901", nil},
		{"19-digit starting like a mobile", "1381234567812345678", nil},
		{"13 digits not 86", "订单号 1381234567890", nil},
		{"letter prefix", "SN13812345678", nil},
		{"letter suffix", "13812345678abc", nil},
		{"thousands separators", "共 13,812,345,678 元", nil},
		{"version numbers", "版本 1.3.8 和 13.8", nil},

		// ID cards.
		{"id with X", "身份证11010519491231002X", []want{{FindingIDCard, "11010519491231002X"}}},
		{"id with x", "11010519491231002x。", []want{{FindingIDCard, "11010519491231002x"}}},
		{"id digits", "证件号码 440304199003074537", []want{{FindingIDCard, "440304199003074537"}}},
		{"id leap day", "510107200002290010", []want{{FindingIDCard, "510107200002290010"}}},
		{"id bad check digit", "440304199003074538", nil},
		{"id bad check X", "11010519491231002X"[:17] + "3", nil},
		{"id month 13 good checksum", "440304199013074530", nil},
		{"id province 00 good checksum", "000304199003074535", nil},
		{"id 29 Feb non-leap good checksum", "510107199902290010", nil},
		{"id inside 20 digits", "1440304199003074537" + "1", nil},
		{"id X then letter", "11010519491231002Xy", nil},
		{"legacy 15", "老身份证110105491231002", []want{{FindingIDCard, "110105491231002"}}},
		{"legacy 15 bad date", "110105491331002", nil},
		{"legacy 15 bad province", "990105491231002", nil},

		// E-mail.
		{"email", "联系我 zhang.san+survey@example.com.cn 谢谢", []want{{FindingEmail, "zhang.san+survey@example.com.cn"}}},
		{"email trailing dot", "mail a_b@example.org.", []want{{FindingEmail, "a_b@example.org"}}},
		{"full-width at", "user＠qq.com", []want{{FindingEmail, "user＠qq.com"}}},
		{"phone as email local part", "13812345678@qq.com", []want{{FindingEmail, "13812345678@qq.com"}}},
		{"no tld", "a@b", nil},
		{"at sign alone", "价格@100元", nil},

		// Several.
		{"three kinds in order", "电话13812345678，邮箱a@example.org，身份证11010519491231002X",
			[]want{{FindingMobile, "13812345678"}, {FindingEmail, "a@example.org"}, {FindingIDCard, "11010519491231002X"}}},
		{"two mobiles", "13812345678 或 15912345678", []want{{FindingMobile, "13812345678"}, {FindingMobile, "15912345678"}}},
		{"nothing", "政府网站的个人信息保护做得不错，满意。", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DetectPersonal(tt.text)
			if len(got) != len(tt.want) {
				t.Fatalf("DetectPersonal(%q) = %v, want %d findings", tt.text, describe(tt.text, got), len(tt.want))
			}
			from := 0
			for i, w := range tt.want {
				start := from + strings.Index(tt.text[from:], w.text)
				g := got[i]
				if g.Kind != w.kind || g.Start != start || g.End != start+len(w.text) {
					t.Errorf("finding %d = %s %q, want %s %q", i, g.Kind, tt.text[g.Start:g.End], w.kind, w.text)
				}
				from = start + len(w.text)
			}
			if ContainsPersonal(tt.text) != (len(tt.want) > 0) {
				t.Error("ContainsPersonal disagrees with DetectPersonal")
			}
		})
	}
}

func describe(text string, fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Kind)+":"+text[f.Start:f.End])
	}
	return out
}

func FuzzDetectPersonal(f *testing.F) {
	for _, s := range []string{"13812345678", "+86 138 1234 5678", "11010519491231002X", "a@b.cn", "１３８"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		prev := -1
		for _, g := range DetectPersonal(s) {
			if g.Start < 0 || g.End > len(s) || g.Start >= g.End || g.Start < prev {
				t.Fatalf("bad finding %+v in %q", g, s)
			}
			prev = g.Start
		}
	})
}
