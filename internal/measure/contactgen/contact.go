// Package contactgen generates the repeatable random phone-book contacts that
// `labctl seed` loads and `labctl workload` asks for: same seed, same data.
package contactgen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Contact is one phone-book entry.
type Contact struct {
	Name   string
	Number string
}

// Names mix ASCII with accented, Nordic, Cyrillic, Greek, CJK and emoji-free
// scripts so the app's URL escaping and storage are exercised; none contains
// a comma, quote or slash, so the workload CSV never needs quoting.
var firstNames = []string{
	"Aino", "Eero", "Juha", "Liisa", "Matti", "Sanna", "Tuomas", "Väinö",
	"Åsa", "Jörg", "Zoë", "Chloé", "José", "François", "Søren", "Małgorzata",
	"Ana", "Björn", "Ingrid", "Mikko", "Olga", "Дмитрий", "Ελένη", "陳",
	"Anna", "Ben", "Carla", "David", "Emma", "Farid", "Grace", "Hiro",
	"Ivan", "Jana", "Kofi", "Lena", "Mona", "Nils", "Omar", "Priya",
}

var lastNames = []string{
	"Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Hämäläinen", "Laine",
	"Müller", "García", "Núñez", "O'Neil", "Øvergaard", "Šimić", "Dvořák",
	"Smith", "Jones", "Brown", "Taylor", "Wilson", "Nguyen", "Kim", "Silva",
	"Иванова", "Παπαδόπουλος", "山田", "Rossi", "Dubois", "Kowalski",
	"Jansen", "Andersson", "Haddad", "Okafor", "Patel", "Cohen", "Lindqvist",
}

var countryCodes = []string{"+358", "+358", "+358", "+46", "+49", "+31", "+1", "+44"}

// Generate returns n contacts for seed. Names are unique; Generate(s, m) is a
// prefix of Generate(s, n) for m < n, which lets a workload add "new"
// contacts that are the ones just past what `seed` loaded.
func Generate(seed uint64, n int) []Contact {
	r := rand.New(rand.NewPCG(seed, 0x6c6162636f6e74)) // second word: "labcont"
	out := make([]Contact, 0, n)
	seen := make(map[string]int, n)
	for len(out) < n {
		name := firstNames[r.IntN(len(firstNames))] + " " + lastNames[r.IntN(len(lastNames))]
		// A repeated name gets a counter so every contact is its own key in the
		// store: a GET can then be checked against exactly one number.
		seen[name]++
		if c := seen[name]; c > 1 {
			name += " " + strconv.Itoa(c)
		}
		number := countryCodes[r.IntN(len(countryCodes))] + fmt.Sprintf("%09d", r.IntN(1_000_000_000))
		out = append(out, Contact{Name: name, Number: number})
	}
	return out
}
