package pipeline

import "sync"

// arenaBytesPerEvent sizes a new arena: a standard scored event (32
// features, one score) encodes to about 250 bytes, so a 1024-event batch
// starts with 256 KiB.
const arenaBytesPerEvent = 256

// maxPooledArena bounds the arenas kept for reuse; a larger one (a batch of
// very large events) goes to the garbage collector.
const maxPooledArena = 16 << 20

// arenaPool recycles the byte arenas that hold a batch's encoded scored
// events, so a steady stream does not allocate (and the collector does not
// scan and free) a fresh arena of up to a few hundred kilobytes per batch.
// An arena goes back only once the sink has acknowledged every scored
// event, since the events' values alias it until then; after a failed
// publish it is left to the collector, as the sink may still hold it. Safe
// for concurrent use.
type arenaPool struct{ p sync.Pool }

// get returns an empty arena with room for events encoded events, reused
// when the pool holds one large enough.
func (a *arenaPool) get(events int) []byte {
	want := events * arenaBytesPerEvent
	if v, ok := a.p.Get().(*[]byte); ok && cap(*v) >= want {
		return (*v)[:0]
	}
	return make([]byte, 0, want)
}

// put returns arena for reuse; nothing may use it afterwards.
func (a *arenaPool) put(arena []byte) {
	if cap(arena) == 0 || cap(arena) > maxPooledArena {
		return
	}
	arena = arena[:0]
	a.p.Put(&arena)
}
