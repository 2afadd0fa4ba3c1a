package security

import (
	"fmt"
	"slices"
)

// Role is a staff role. A user may hold several; MLPS level 3's separation
// of duties (system, security and audit administrators) means an operator
// should not give one person both admin and auditor.
type Role string

const (
	RoleAdmin       Role = "admin"        // accounts, keys, settings; no answers, no audit log
	RoleDesigner    Role = "designer"     // questionnaires
	RoleAnalyst     Role = "analyst"      // cleaning and analysis of de-identified data
	RoleDataOfficer Role = "data_officer" // personal data: reading, exporting, erasing
	RoleAuditor     Role = "auditor"      // the audit log, read only
	RolePublisher   Role = "publisher"    // releasing reports and open data
)

// Permission is one thing the console or the API lets staff do. Handlers
// name the permission they need; this file alone says which role has it.
type Permission string

const (
	PermFormsRead               Permission = "forms.read"                // list forms, view definitions and collection progress
	PermFormsWrite              Permission = "forms.write"               // add or change forms, open and close collection, retention settings
	PermResponsesRead           Permission = "responses.read"            // view responses without client, personal or sensitive fields
	PermResponsesReadPersonal   Permission = "responses.read_personal"   // view decrypted personal and sensitive answers
	PermResponsesExport         Permission = "responses.export"          // export de-identified microdata
	PermResponsesExportPersonal Permission = "responses.export_personal" // export including client, personal and sensitive fields (stated purpose, audited)
	PermResponsesClean          Permission = "responses.clean"           // run cleaning, override flags with a note
	PermResponsesDelete         Permission = "responses.delete"          // erase responses or personal fields (withdrawal, retention)
	PermAnalysisRead            Permission = "analysis.read"             // frequencies, cross-tabs, weights, wave comparison
	PermReportsWrite            Permission = "reports.write"             // build reports
	PermPublishRelease          Permission = "publish.release"           // sign and release reports and open tables
	PermAuditRead               Permission = "audit.read"                // read and verify the audit log
	PermAuditExport             Permission = "audit.export"              // export the audit log for an external archive
	PermUsersManage             Permission = "users.manage"              // add, disable users, set roles, reset passwords
	PermKeysRotate              Permission = "keys.rotate"               // rotate data keys, rewrap under a new master key
	PermSettingsManage          Permission = "settings.manage"           // server settings: thresholds, default retention
)

// rolePermissions is the permission table, the one place that decides who
// may do what:
//
//	permission                 admin designer analyst data_officer auditor publisher
//	forms.read                   x      x        x         x          x        x
//	forms.write                         x
//	responses.read                               x         x
//	responses.read_personal                                x
//	responses.export                             x         x
//	responses.export_personal                              x
//	responses.clean                              x
//	responses.delete                                       x
//	analysis.read                                x         x                   x
//	reports.write                                x                             x
//	publish.release                                                            x
//	audit.read                                                        x
//	audit.export                                                      x
//	users.manage                 x
//	keys.rotate                  x
//	settings.manage              x
//
// No role writes or deletes audit entries: the server appends them, and
// nothing in govsurvey purges them.
var rolePermissions = map[Role][]Permission{
	RoleAdmin:       {PermFormsRead, PermUsersManage, PermKeysRotate, PermSettingsManage},
	RoleDesigner:    {PermFormsRead, PermFormsWrite},
	RoleAnalyst:     {PermFormsRead, PermResponsesRead, PermResponsesExport, PermResponsesClean, PermAnalysisRead, PermReportsWrite},
	RoleDataOfficer: {PermFormsRead, PermResponsesRead, PermResponsesReadPersonal, PermResponsesExport, PermResponsesExportPersonal, PermResponsesDelete, PermAnalysisRead},
	RoleAuditor:     {PermFormsRead, PermAuditRead, PermAuditExport},
	RolePublisher:   {PermFormsRead, PermAnalysisRead, PermReportsWrite, PermPublishRelease},
}

// Can reports whether role has permission. Unknown roles have none.
func Can(role Role, p Permission) bool {
	return slices.Contains(rolePermissions[role], p)
}

// CanAny reports whether any of roles has permission.
func CanAny(roles []Role, p Permission) bool {
	for _, r := range roles {
		if Can(r, p) {
			return true
		}
	}
	return false
}

// Roles lists every role, in a fixed order.
func Roles() []Role {
	return []Role{RoleAdmin, RoleDesigner, RoleAnalyst, RoleDataOfficer, RoleAuditor, RolePublisher}
}

// Permissions lists every permission, in a fixed order.
func Permissions() []Permission {
	return []Permission{
		PermFormsRead, PermFormsWrite,
		PermResponsesRead, PermResponsesReadPersonal, PermResponsesExport, PermResponsesExportPersonal,
		PermResponsesClean, PermResponsesDelete,
		PermAnalysisRead, PermReportsWrite, PermPublishRelease,
		PermAuditRead, PermAuditExport,
		PermUsersManage, PermKeysRotate, PermSettingsManage,
	}
}

// PermissionsOf lists role's permissions (a copy).
func PermissionsOf(role Role) []Permission {
	return slices.Clone(rolePermissions[role])
}

// ParseRole checks that s names a role.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if _, ok := rolePermissions[r]; !ok {
		return "", fmt.Errorf("security: unknown role %q (want one of admin, designer, analyst, data_officer, auditor, publisher)", s)
	}
	return r, nil
}

// ParsePermission checks that s names a permission.
func ParsePermission(s string) (Permission, error) {
	p := Permission(s)
	if !slices.Contains(Permissions(), p) {
		return "", fmt.Errorf("security: unknown permission %q", s)
	}
	return p, nil
}
