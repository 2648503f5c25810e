package protocol

// Op is a text protocol command.
type Op uint8

// The commands cachenode understands.
const (
	OpGet Op = iota + 1
	OpGets
	OpGat
	OpGats
	OpSet
	OpAdd
	OpReplace
	OpAppend
	OpPrepend
	OpCas
	OpDelete
	OpIncr
	OpDecr
	OpTouch
	OpFlushAll
	OpStats
	OpVersion
	OpVerbosity
	OpQuit
)

var opNames = map[string]Op{
	"get": OpGet, "gets": OpGets, "gat": OpGat, "gats": OpGats,
	"set": OpSet, "add": OpAdd, "replace": OpReplace, "append": OpAppend,
	"prepend": OpPrepend, "cas": OpCas, "delete": OpDelete, "incr": OpIncr,
	"decr": OpDecr, "touch": OpTouch, "flush_all": OpFlushAll, "stats": OpStats,
	"version": OpVersion, "verbosity": OpVerbosity, "quit": OpQuit,
}

// IsStorage reports whether op carries a data block.
func (op Op) IsStorage() bool { return op >= OpSet && op <= OpCas }

// Command is one parsed request. Slices point into the parser's buffers and
// are valid only until the next call to Parser.Next, except Value, which is
// freshly allocated for every storage command and may be kept.
type Command struct {
	Op      Op
	Keys    [][]byte // get, gets, gat, gats: every key; others: Keys[0]
	Flags   uint32
	Exptime int64 // storage, touch, gat, gats; flush_all delay
	Value   []byte
	Cas     uint64
	Delta   uint64
	NoReply bool
	Args    [][]byte // stats subcommand and arguments
}

// Key is the single key of a non-retrieval command.
func (c *Command) Key() []byte {
	if len(c.Keys) == 0 {
		return nil
	}
	return c.Keys[0]
}
