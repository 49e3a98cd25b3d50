package managedidentity

// ID says which managed identity of the host to use. The zero value is the
// system-assigned identity.
type ID struct {
	kind  idKind
	value string
}

type idKind uint8

const (
	kindSystem idKind = iota
	kindClientID
	kindResourceID
	kindObjectID
)

// SystemAssigned is the identity Azure creates for the resource itself.
func SystemAssigned() ID { return ID{} }

// UserAssignedClientID selects a user-assigned identity by its client (application) id.
func UserAssignedClientID(id string) ID { return ID{kind: kindClientID, value: id} }

// UserAssignedResourceID selects a user-assigned identity by its Azure
// resource id (/subscriptions/.../providers/Microsoft.ManagedIdentity/userAssignedIdentities/name).
func UserAssignedResourceID(id string) ID { return ID{kind: kindResourceID, value: id} }

// UserAssignedObjectID selects a user-assigned identity by its object
// (principal) id.
func UserAssignedObjectID(id string) ID { return ID{kind: kindObjectID, value: id} }

// String describes the identity, e.g. "system-assigned" or
// "user-assigned client id 00000000-...". Identity ids are not secrets.
func (id ID) String() string {
	if id.kind == kindSystem {
		return "system-assigned"
	}
	return "user-assigned " + id.kind.String() + " " + id.value
}

func (k idKind) String() string {
	switch k {
	case kindClientID:
		return "client id"
	case kindResourceID:
		return "resource id"
	case kindObjectID:
		return "object id"
	}
	return "system-assigned"
}

// cacheKey tells identities apart in the token cache.
func (id ID) cacheKey() string {
	switch id.kind {
	case kindClientID:
		return "client_id:" + id.value
	case kindResourceID:
		return "resource_id:" + id.value
	case kindObjectID:
		return "object_id:" + id.value
	}
	return "system"
}
