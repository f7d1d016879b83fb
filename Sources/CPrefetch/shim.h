// A hint to bring the cache line at `address` in ahead of its use (never a fault, whatever the
// address: a hint for an address that is not mapped is dropped). Swift has no spelling of it.
static inline void meridian_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

// The same, for a line about to be written (a retain writes the object's first line).
static inline void meridian_prefetch_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}
