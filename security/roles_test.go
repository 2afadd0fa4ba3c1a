package security

import (
	"slices"
	"testing"
)

// TestCan spells the table out again, cell by cell, from issue 4's role
// descriptions: a change to roles.go must be made here too, on purpose.
func TestCan(t *testing.T) {
	granted := map[Permission][]Role{
		PermFormsRead:               {RoleAdmin, RoleDesigner, RoleAnalyst, RoleDataOfficer, RoleAuditor, RolePublisher},
		PermFormsWrite:              {RoleDesigner},
		PermResponsesRead:           {RoleAnalyst, RoleDataOfficer},
		PermResponsesReadPersonal:   {RoleDataOfficer},
		PermResponsesExport:         {RoleAnalyst, RoleDataOfficer},
		PermResponsesExportPersonal: {RoleDataOfficer},
		PermResponsesClean:          {RoleAnalyst},
		PermResponsesDelete:         {RoleDataOfficer},
		PermAnalysisRead:            {RoleAnalyst, RoleDataOfficer, RolePublisher},
		PermReportsWrite:            {RoleAnalyst, RolePublisher},
		PermPublishRelease:          {RolePublisher},
		PermAuditRead:               {RoleAuditor},
		PermAuditExport:             {RoleAuditor},
		PermUsersManage:             {RoleAdmin},
		PermKeysRotate:              {RoleAdmin},
		PermSettingsManage:          {RoleAdmin},
	}
	if len(granted) != len(Permissions()) {
		t.Fatalf("test covers %d permissions, package has %d", len(granted), len(Permissions()))
	}
	for _, p := range Permissions() {
		for _, r := range Roles() {
			want := slices.Contains(granted[p], r)
			if got := Can(r, p); got != want {
				t.Errorf("Can(%s, %s) = %v, want %v", r, p, got, want)
			}
		}
	}
	for _, p := range Permissions() {
		if Can("", p) || Can("root", p) || Can("Admin", p) {
			t.Errorf("an unknown role has %s", p)
		}
	}
	if Can(RoleAdmin, "forms.*") {
		t.Error("unknown permission granted")
	}
}

func TestCanAny(t *testing.T) {
	if !CanAny([]Role{RoleDesigner, RoleAuditor}, PermAuditRead) {
		t.Error("second role not consulted")
	}
	if CanAny(nil, PermFormsRead) {
		t.Error("no roles, yet allowed")
	}
}

func TestParseRoleAndPermission(t *testing.T) {
	for _, r := range Roles() {
		if got, err := ParseRole(string(r)); err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	for _, s := range []string{"", "Admin", "superuser", "data-officer"} {
		if _, err := ParseRole(s); err == nil {
			t.Errorf("ParseRole(%q) accepted", s)
		}
	}
	for _, p := range Permissions() {
		if got, err := ParsePermission(string(p)); err != nil || got != p {
			t.Errorf("ParsePermission(%q) = %q, %v", p, got, err)
		}
	}
	if _, err := ParsePermission("audit.write"); err == nil {
		t.Error("ParsePermission accepted audit.write")
	}
	perms := PermissionsOf(RoleAdmin)
	perms[0] = PermAuditRead
	if Can(RoleAdmin, PermAuditRead) {
		t.Error("PermissionsOf exposes the table")
	}
}
