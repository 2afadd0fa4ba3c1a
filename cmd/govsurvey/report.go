package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/govsurvey/govsurvey/report"
	"github.com/govsurvey/govsurvey/report/charts"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store"
)

const reportUsage = `usage: govsurvey report --form ID [--base ID] [--definition FILE] [--weights MARGINS.csv] [--lang zh|en] --out DIR
       govsurvey report --form ID --init-definition FILE`

// cmdReport writes a form's report (report.html, tables.xlsx,
// report.docx — its charts as pictures when Chromium is there — and with
// Chromium report.pdf), or with --init-definition the definition to edit.
func cmdReport(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("report")
	formID := fs.String("form", "", "form id (required)")
	baseID := fs.String("base", "", "form id of the earlier wave to compare with (default: the definition's base_form_id, when registered)")
	defPath := fs.String("definition", "", "report definition (JSON, docs/reports.md); default: the built-in one of the form, or one made from the form")
	initDef := fs.String("init-definition", "", "write the form's default definition to this file and stop")
	weights := fs.String("weights", "", "population margins (CONTRACTS.md §5 CSV) to weight to; overrides the definition's")
	weighting := fs.String("weighting", "rake", "rake, poststratify, linear or raking")
	trim := fs.String("trim", "", "bound the weights to LOW,HIGH times their mean (e.g. 0.2,5)")
	lang := fs.String("lang", "zh", "language of the report: zh or en")
	outDir := fs.String("out", "", "directory to write the report files to")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if *formID == "" || len(pos) > 0 || (*outDir == "") == (*initDef == "") {
		return usagef("%s", reportUsage)
	}
	if *lang != "zh" && *lang != "en" {
		return usagef("--lang %q: zh or en", *lang)
	}
	// Progress lines follow --lang, as report.Build's stages do.
	progress := func(stage string) { fmt.Fprintf(a.stderr, "report: %s…\n", stage) }
	say := func(zh, en string) string {
		if *lang == "en" {
			return en
		}
		return zh
	}

	st, _, f, err := a.openForm(ctx, *formID)
	if err != nil {
		return err
	}
	defer st.Close()

	if *initDef != "" {
		def, err := report.DefinitionFor(f)
		if err != nil {
			return err
		}
		file, err := os.OpenFile(*initDef, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("%w (the definition is not overwritten)", err)
		}
		if _, err := def.WriteTo(file); err != nil {
			file.Close()
			return err
		}
		if err := file.Close(); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "wrote the report definition of %s to %s; edit it and run 'govsurvey report --form %s --definition %s --out DIR'\n",
			f.ID, *initDef, f.ID, *initDef)
		return nil
	}

	in := report.Inputs{Store: st, Form: f, Lang: *lang, Progress: progress}
	if *defPath != "" {
		file, err := os.Open(*defPath)
		if err != nil {
			return err
		}
		in.Definition, err = report.ReadDefinition(file)
		file.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *defPath, err)
		}
		if in.Definition.FormID != f.ID {
			return fmt.Errorf("%s is the definition of form %s, not %s", *defPath, in.Definition.FormID, f.ID)
		}
		in.DefinitionDir = filepath.Dir(*defPath)
	} else if in.Definition, err = report.DefinitionFor(f); err != nil {
		return err
	}
	// The base wave: --base, else the definition's when it is registered.
	base := *baseID
	if base == "" && in.Definition.BaseFormID != "" {
		if _, err := st.Form(ctx, in.Definition.BaseFormID); err == nil {
			base = in.Definition.BaseFormID
		} else if errors.Is(err, store.ErrNotFound) {
			progress(fmt.Sprintf(say("上一轮 %s 未登记，不作年度比较", "base wave %s is not registered: no wave comparison"), in.Definition.BaseFormID))
		} else {
			return err
		}
	}
	if base != "" {
		if _, in.BaseForm, err = formOf(ctx, st, base); err != nil {
			return err
		}
	}
	if *weights != "" {
		if in.Weighting, err = readWeighting(*weights, *weighting, *trim); err != nil {
			return err
		}
	} else if *trim != "" {
		return usagef("--trim needs --weights")
	}

	rep, err := report.Build(ctx, in)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	write := func(name string, fn func(*bytes.Buffer) error) error {
		progress(say("写出 ", "write ") + name)
		var buf bytes.Buffer
		if err := fn(&buf); err != nil {
			return err
		}
		path := filepath.Join(*outDir, name)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "wrote %s\n", path)
		return nil
	}
	if err := write("report.html", func(b *bytes.Buffer) error { return rep.HTML(b) }); err != nil {
		return err
	}
	if err := write("tables.xlsx", func(b *bytes.Buffer) error { return rep.XLSX(b) }); err != nil {
		return err
	}

	progress(say("启动 Chromium，为 report.docx 绘制图表并打印 report.pdf", "start Chromium for the charts of report.docx and for report.pdf"))
	renderer, err := charts.NewRenderer(ctx)
	if errors.Is(err, charts.ErrNoChromium) {
		fmt.Fprintf(a.stderr, "report: %v\nreport: report.docx has its tables but no chart pictures, and report.pdf was not written\n", err)
		return write("report.docx", func(b *bytes.Buffer) error { return rep.DOCX(b, nil) })
	}
	if err != nil {
		return err
	}
	defer renderer.Close()
	progress(say("绘制图表", "render the charts"))
	images, err := rep.Images(ctx, renderer)
	if err != nil {
		return err
	}
	if err := write("report.docx", func(b *bytes.Buffer) error { return rep.DOCX(b, images) }); err != nil {
		return err
	}
	return write("report.pdf", func(b *bytes.Buffer) error { return rep.PDF(ctx, renderer, b) })
}

// readWeighting reads a margins file into a weighting, as analyze does.
func readWeighting(path, method, trim string) (*stats.Weighting, error) {
	m, err := stats.ParseWeightingMethod(method)
	if err != nil {
		return nil, usagef("%v", err)
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	margins, err := stats.ReadMargins(file)
	file.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	w := &stats.Weighting{Method: m, Margins: margins, Source: filepath.Base(path)}
	if trim != "" {
		lo, hi, ok := strings.Cut(trim, ",")
		l, err1 := strconv.ParseFloat(strings.TrimSpace(lo), 64)
		h, err2 := strconv.ParseFloat(strings.TrimSpace(hi), 64)
		if !ok || err1 != nil || err2 != nil || l < 0 || (h != 0 && h < l) {
			return nil, usagef("--trim wants LOW,HIGH (multiples of the mean weight), e.g. 0.2,5")
		}
		w.TrimLow, w.TrimHigh = l, h
	}
	return w, nil
}
