package charts

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
)

// SystemFontConfig is fontconfig's main configuration file on Debian (and
// most Linux systems); FontConfig's file includes it.
const SystemFontConfig = "/etc/fonts/fonts.conf"

// fontAliases lists the Chinese office fonts that reports and Word documents
// name, with the free faces that stand in for them, best first. A government
// office reads 宋体 as the serif body face and 黑体 as the sans heading face;
// without an alias fontconfig falls back to its default family for Chinese,
// which is sans, so 宋体 body text would come out in a 黑体-like face.
// fonts-noto-cjk ships both Noto CJK SC faces; when the serif one is missing,
// the sans one still draws every character.
var fontAliases = []struct {
	families []string
	accept   []string
}{
	{
		// Serif faces: the body face, its monospaced twin, and the 仿宋 and
		// 楷体 that official documents use for some parts, which have no
		// free stand-in closer than a serif.
		families: []string{
			"宋体", "SimSun", "新宋体", "NSimSun", "宋体-简", "华文宋体", "STSong",
			"仿宋", "FangSong", "仿宋_GB2312", "FangSong_GB2312",
			"楷体", "KaiTi", "楷体_GB2312", "KaiTi_GB2312",
			"方正小标宋简体", "方正小标宋_GBK",
		},
		accept: []string{"Noto Serif CJK SC", "Noto Sans CJK SC"},
	},
	{
		families: []string{
			"黑体", "SimHei", "微软雅黑", "Microsoft YaHei", "等线", "DengXian",
			"华文黑体", "STHeiti",
		},
		accept: []string{"Noto Sans CJK SC"},
	},
}

// FontConfig returns a fontconfig configuration file that includes the
// configuration at base (normally SystemFontConfig) and adds aliases so that
// 宋体/SimSun (and the other serif office fonts) resolve to Noto Serif CJK SC
// and 黑体/SimHei to Noto Sans CJK SC. Point FONTCONFIG_FILE at it for one
// process (the Renderer does so for its Chromium); no system file changes.
//
// The aliases "accept" the stand-ins with the requested family's binding:
// a machine that has the real 宋体 still uses it, and the stand-in is a
// strong match, which Chromium requires before it uses a substitute for a
// CSS font-family name.
func FontConfig(base string) []byte {
	var b bytes.Buffer
	esc := func(s string) string {
		var e bytes.Buffer
		xml.EscapeText(&e, []byte(s)) // writes to a bytes.Buffer: cannot fail
		return e.String()
	}
	b.WriteString(`<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<!-- Written by govsurvey (report/charts): the system configuration, plus
     free stand-ins for the Chinese office fonts that reports name. -->
<fontconfig>
`)
	fmt.Fprintf(&b, "  <include ignore_missing=\"no\">%s</include>\n", esc(base))
	for _, a := range fontAliases {
		for _, f := range a.families {
			fmt.Fprintf(&b, "  <alias binding=\"same\">\n    <family>%s</family>\n    <accept>", esc(f))
			for _, s := range a.accept {
				fmt.Fprintf(&b, "<family>%s</family>", esc(s))
			}
			b.WriteString("</accept>\n  </alias>\n")
		}
	}
	b.WriteString("</fontconfig>\n")
	return b.Bytes()
}

// browserFontConfig writes FontConfig(SystemFontConfig) into a new temporary
// directory for the browser and returns the directory (to remove at Close)
// and the FONTCONFIG_FILE setting. It does nothing, returning "", when the
// user already chose a fontconfig configuration (FONTCONFIG_FILE or
// FONTCONFIG_PATH is set) or the system has none at the usual place.
func browserFontConfig() (dir, env string, err error) {
	if os.Getenv("FONTCONFIG_FILE") != "" || os.Getenv("FONTCONFIG_PATH") != "" {
		return "", "", nil
	}
	if _, err := os.Stat(SystemFontConfig); err != nil {
		return "", "", nil
	}
	dir, err = os.MkdirTemp("", "govsurvey-fonts-")
	if err != nil {
		return "", "", fmt.Errorf("charts: font configuration: %w", err)
	}
	path := filepath.Join(dir, "fonts.conf")
	if err := os.WriteFile(path, FontConfig(SystemFontConfig), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("charts: font configuration: %w", err)
	}
	return dir, "FONTCONFIG_FILE=" + path, nil
}
