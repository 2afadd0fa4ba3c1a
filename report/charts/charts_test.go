package charts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestVendoredECharts(t *testing.T) {
	js := ECharts()
	if len(js) < 500_000 {
		t.Fatalf("echarts.min.js is %d bytes; want the full build", len(js))
	}
	// The version the code claims is the version the file declares.
	if want := fmt.Sprintf(`version="%s"`, EChartsVersion); !bytes.Contains(js, []byte(want)) {
		t.Errorf("echarts.min.js does not contain %s", want)
	}
	// Report pages inline the script; this would end the <script> early.
	if bytes.Contains(bytes.ToLower(js), []byte("</script")) {
		t.Error(`echarts.min.js contains "</script"`)
	}
	readme, err := os.ReadFile("vendor/README.md")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(js)
	for _, want := range []string{hex.EncodeToString(sum[:]), "| version | " + EChartsVersion + " |"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("vendor/README.md does not record %q", want)
		}
	}
}

func TestLicence(t *testing.T) {
	lic := string(Licence())
	for _, want := range []string{"Apache License", "Version 2.0", "The Apache Software Foundation", "Apache ECharts", "BSD"} {
		if !strings.Contains(lic, want) {
			t.Errorf("Licence() lacks %q", want)
		}
	}
}

func TestNewRendererNoChromium(t *testing.T) {
	tests := []struct {
		name, path string
	}{
		{"missing file", t.TempDir() + "/no-such-chromium"},
		{"directory", t.TempDir()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(ChromiumEnv, tt.path)
			r, err := NewRenderer(t.Context())
			if err == nil {
				r.Close()
				t.Fatal("NewRenderer succeeded without a browser")
			}
			if !errors.Is(err, ErrNoChromium) {
				t.Fatalf("error %v does not wrap ErrNoChromium", err)
			}
			for _, want := range []string{"apt-get install chromium", "GOVSURVEY_CHROMIUM", tt.path} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}
