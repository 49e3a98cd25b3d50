package confidential

import "fmt"

func sprint(v any) string { return fmt.Sprintf("%v %+v %#v %s", v, v, v, v) }
