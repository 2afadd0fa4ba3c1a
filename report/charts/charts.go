// Package charts owns the report's chart engine: the vendored Apache ECharts
// script (with its licence) that report pages inline, and a Renderer that
// draws the same chart options to PNG and SVG, and prints report pages to
// PDF, in one headless Chromium with no network.
package charts

import (
	"bytes"
	_ "embed"
)

// EChartsVersion is the version of the vendored echarts.min.js (npm package
// echarts); vendor/README.md says how to update it.
const EChartsVersion = "6.1.0"

//go:embed vendor/echarts.min.js
var echartsJS []byte

//go:embed vendor/LICENSE
var licenseText []byte

//go:embed vendor/NOTICE
var noticeText []byte

//go:embed vendor/licenses/LICENSE-d3
var licenseD3Text []byte

// ECharts returns the vendored echarts.min.js, to inline in a page's
// <script> element (the file contains no "</script"). The caller must not
// modify the returned slice.
func ECharts() []byte {
	return echartsJS
}

// Licence returns the licence and notice that must travel with ECharts
// wherever the script is shipped: the Apache-2.0 LICENSE, the NOTICE, and the
// BSD licence of the d3.js code that the LICENSE names.
func Licence() []byte {
	return bytes.Join([][]byte{
		licenseText,
		[]byte("\n========================================================================\nNOTICE\n\n"),
		noticeText,
		[]byte("\n========================================================================\nlicenses/LICENSE-d3\n\n"),
		licenseD3Text,
	}, nil)
}
