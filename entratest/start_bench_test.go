package entratest_test

import (
	"testing"

	"github.com/entra-go/entra/entratest"
)

// BenchmarkNew measures what a test pays to start an emulator and stop it.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		em, err := entratest.New(entratest.Options{})
		if err != nil {
			b.Fatal(err)
		}
		em.Close()
	}
}
