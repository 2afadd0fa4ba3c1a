package report

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/govsurvey/govsurvey/report/charts"
)

// Chart image size in CSS pixels; the renderer draws at device scale, so
// a 16 cm wide image in Word stays sharp.
const (
	imageWidth  = 800
	imageHeight = 450
	tallHeight  = 700
)

// Images renders every chart of the report to PNG with r, keyed by
// figure ID, for Word.
func (rep *Report) Images(ctx context.Context, r *charts.Renderer) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, f := range rep.Figures() {
		if !f.Chart() {
			continue
		}
		h := imageHeight
		if f.tall() {
			h = tallHeight
		}
		png, err := r.PNG(ctx, f.Option(), imageWidth, h)
		if err != nil {
			return nil, fmt.Errorf("report: %s: %w", f.Number, err)
		}
		out[f.ID] = png
	}
	return out, nil
}

// PDF prints the HTML report on A4 with r (headless Chromium).
func (rep *Report) PDF(ctx context.Context, r *charts.Renderer, w io.Writer) error {
	var page bytes.Buffer
	if err := rep.HTML(&page); err != nil {
		return err
	}
	pdf, err := r.PDF(ctx, page.Bytes())
	if err != nil {
		return fmt.Errorf("report: pdf: %w", err)
	}
	if _, err := w.Write(pdf); err != nil {
		return fmt.Errorf("report: pdf: %w", err)
	}
	return nil
}
