package workload

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
)

// Header is the CSV's first line. JMeter's CSV Data Set Config reads it as
// variable names (${method}, ${path}, ${body}, ${name}, ${number}).
var Header = []string{"method", "path", "body", "name", "number"}

// WriteCSV writes the header and rows. Names never contain commas or quotes
// and bodies are form-encoded, so no field is ever quoted: JMeter reads the
// file without its "allow quoted data" option.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Header); err != nil {
		return fmt.Errorf("write csv header: %w", err)
	}
	for i, r := range rows {
		if err := cw.Write([]string{r.Method, r.Path, r.Body, r.Name, r.Number}); err != nil {
			return fmt.Errorf("write csv row %d: %w", i+1, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// ReadCSV reads a workload written by WriteCSV (or by hand, with the same header).
func ReadCSV(r io.Reader) ([]Row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(Header)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read csv header: %w", err)
	}
	if !slices.Equal(head, Header) {
		return nil, fmt.Errorf("csv header %q: want %q", head, Header)
	}
	var rows []Row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read csv: %w", err)
		}
		row := Row{Method: rec[0], Path: rec[1], Body: rec[2], Name: rec[3], Number: rec[4]}
		if row.Method != "GET" && row.Method != "POST" {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("csv line %d: method %q: want GET or POST", line, row.Method)
		}
		rows = append(rows, row)
	}
}
