//! Raw tasks: one allocation per task, and the typed handles onto it.
//!
//! # Layout
//!
//! A task is one heap block, `#[repr(C)] TaskCell<F> { header: Header, stage: Stage<F> }`:
//! the [`Header`] (atomic state word with the refcount, vtable pointer, task id, back-pointer
//! to the executor's `Shared`, registry key, awaiter waker slot, the executor's poll count and
//! last-poll stamp) followed by the stage, which holds the future while it runs and is then
//! replaced, in place, by its output
//! (`Result<F::Output, JoinError>`, a panic payload being an `Err`), and finally by `Consumed`
//! once the output was taken or dropped. The allocation never moves, so the future is pinned.
//!
//! Blocks are allocated at a size class (16-byte steps up to 1 KiB, 16-byte aligned; larger or
//! more aligned cells get their exact layout). A task of an executor freed on a thread that
//! spawns tasks goes to that thread's [`TaskCache`] (bounded: 2 MiB per class, 4 MiB in all),
//! where the next spawn of that class finds it; freed anywhere else, or when the cache is
//! full, it goes back to the allocator. The cache is emptied when an executor of the thread is
//! dropped (which is what deactivates it).
//!
//! # Handles (who holds what)
//!
//! | handle | counts as | may touch the stage | threads |
//! |---|---|---|---|
//! | [`TaskRef`] (a run-queue entry) | 1 ref | only through [`TaskRef::run`], which needs the owning executor's `&Local` | queued from anywhere, run on the executor thread |
//! | [`OwnedTask`] (the registry entry) | 1 ref, released by completion | only through [`OwnedTask::shutdown`] (`&Local` again) | executor thread |
//! | waker | 1 ref | never | any |
//! | [`JoinRef`] (inside `JoinHandle`) | the `HANDLE` bit | reads/drops the output once `COMPLETE` | any if `T: Send` |
//! | [`AbortRef`] (inside `AbortHandle`) | 1 ref | never | any |
//! | [`RemoteSpawn`] (a `Send` future crossing to the executor) | queue ref + registry ref | drops the future when refused (the future is `Send`) | any |
//! | [`BlockingRunnable`] (a `spawn_blocking` job) | 1 ref | runs the closure (it is `Send`) | any |
//!
//! # State bits and transitions
//!
//! The bits are listed in [`crate::state`]. The transitions (each one atomic):
//!
//! - **spawn**: `SCHEDULED | HANDLE`, refs = queue entry + registry (remote spawns the same;
//!   blocking jobs: queue entry only; a spawn into a closed executor is born
//!   `COMPLETE | HANDLE` holding `Err(cancelled)`).
//! - **run** (executor thread, consumes a queue entry): `SCHEDULED -> RUNNING`; if `COMPLETE`
//!   the entry is stale and its ref is released; if `CLOSED` the future is dropped instead of
//!   polled (**cancel**). An entry whose task is still `RUNNING` is one kept across a yield
//!   (see below): no transition, except clearing a `SCHEDULED` a wake set meanwhile.
//! - **wake** (any thread): idle -> `SCHEDULED` + a ref for the queue entry, which is pushed
//!   to the local queue (on the executor thread while it is entered) or the remote queue
//!   (plus one `unpark`); `RUNNING` -> `RUNNING | SCHEDULED` (no push, no ref: requeued after
//!   the poll); already `SCHEDULED`, `CLOSED` or `COMPLETE` -> nothing. A finished task is
//!   therefore never polled again and a wake never frees it (a by-value wake of the last
//!   reference frees a task that is already complete).
//! - **after a `Pending` poll**: `CLOSED` -> cancel now; a yield (`yield_now`, a spent coop
//!   budget) -> keep `RUNNING` *and* the ref (no atomic write), the entry goes to the deferred
//!   list, run at the next tick after the reactor had a turn (wakes meanwhile only set
//!   `SCHEDULED`, aborts `CLOSED | SCHEDULED`, neither pushes an entry, since the task is
//!   `RUNNING`); `SCHEDULED` -> clear `RUNNING`, keep the ref, requeue; otherwise clear
//!   `RUNNING` and release the ref.
//! - **complete** (after `Ready`, a caught panic, or cancel; the future is already dropped, so
//!   its destructor has finished before completion can be observed): the output is written
//!   to the stage if a `JoinHandle` exists, else dropped right here; then one CAS sets
//!   `COMPLETE`, clears `RUNNING | SCHEDULED` and releases the queue + registry refs. If it saw
//!   `AWAITER` without `LOCKED` it keeps one ref, takes the awaiter waker, releases the ref and
//!   clears `AWAITER`, then wakes it. If the handle went away between the output store and
//!   the CAS, it keeps one ref to drop the output.
//! - **abort** (any thread, via `JoinHandle`/`AbortHandle`): like a wake, plus `CLOSED`. The
//!   future is dropped by the executor thread at the next run; abort never touches the stage.
//!   Blocking jobs and tasks born cancelled ignore abort.
//! - **shutdown** (executor thread): first every queued entry of a task kept `RUNNING` across a
//!   yield is cancelled ([`TaskRef::discard`]); then for every registry entry: set
//!   `RUNNING | CLOSED` and cancel; a task that is `RUNNING` (shutdown called from inside its
//!   poll) only gets `CLOSED`, and its poll epilogue cancels it.
//! - **join** (the `JoinHandle`): if `COMPLETE`, take the output (stage -> `Consumed`).
//!   Otherwise take `LOCKED` (impossible once `COMPLETE`), store the waker (skipped when
//!   `will_wake`), then `LOCKED -> AWAITER`; if `COMPLETE` appeared meanwhile the completion
//!   skipped the slot, so the handle empties it, clears `LOCKED | AWAITER` and takes the output.
//! - **JoinHandle drop**: if `COMPLETE`, drop the output (catching a panic from its `Drop`),
//!   then clear `HANDLE`; otherwise clear `HANDLE` (first emptying the awaiter slot under
//!   `LOCKED`). The executor drops the output itself when it finds `HANDLE` gone.
//! - **free**: whoever turns the word into "refs 0 and no `HANDLE`" frees the block; by then
//!   the stage is `Consumed` (the future and output are only ever dropped by the executor
//!   thread or the handle), so freeing on another thread runs no user destructor except the
//!   awaiter waker's, which is `Send`.
//!
//! # Who touches which field
//! - state: any thread, atomically.
//! - stage while not `COMPLETE`: the executor thread, only between `RUNNING` being set by it
//!   and `COMPLETE` being set by it (blocking jobs: the worker that set `RUNNING`).
//! - stage once `COMPLETE`: the `JoinHandle` if `HANDLE` is set, otherwise the completing
//!   thread (holding its kept ref), otherwise nobody (it is `Consumed`).
//! - awaiter slot: see [`Header`].

use std::alloc::{self, Layout};
use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::error::JoinError;
use crate::header::{Header, PollStats};
use crate::id::Id;
use crate::scheduler::{Local, Shared};
use crate::state::{
    Claim, Register, Snapshot, State, ToIdle, ToRunning, AWAITER, COMPLETE, LOCKED,
};

#[repr(C)]
struct TaskCell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// The type-erased operations of a `TaskCell<F>`.
pub(crate) struct Vtable {
    /// Consumes a queue reference. `local` is `Some` for executor tasks (proof that this is
    /// the executor thread) and `None` for blocking jobs (whose closure is `Send`).
    run: unsafe fn(NonNull<Header>, Option<&Local>) -> RunOutcome,
    /// The caller set `RUNNING | CLOSED`: drop the future and complete, releasing `refs`.
    cancel: unsafe fn(NonNull<Header>, usize),
    /// Moves the output into `*mut Option<Result<F::Output, JoinError>>`.
    read_output: unsafe fn(NonNull<Header>, *mut ()),
    drop_output: unsafe fn(NonNull<Header>),
    dealloc: unsafe fn(NonNull<Header>),
}

struct VtableOf<F>(PhantomData<F>);

impl<F: Future> VtableOf<F> {
    const VTABLE: Vtable = Vtable {
        run: run::<F>,
        cancel: cancel::<F>,
        read_output: read_output::<F>,
        drop_output: drop_output::<F>,
        dealloc: dealloc::<F>,
    };
}

/// What the scheduler must do after [`TaskRef::run`].
pub(crate) enum RunOutcome {
    /// Polled, `Pending`, not woken: nothing to do.
    Idle,
    /// Polled, `Pending`, woken or yielded during the poll: push the entry back (to the
    /// deferred list when `yielded`).
    Requeue { task: TaskRef, yielded: bool },
    /// Finished (output, panic or cancellation): remove the registry entry.
    Completed,
    /// A stale queue entry of a finished task: nothing was polled.
    Stale,
}

#[inline]
fn allocate<F: Future>(
    stage: Stage<F>,
    id: Id,
    scheduler: Option<&Arc<Shared>>,
    state: State,
    cached: bool,
) -> NonNull<Header> {
    let scheduler = scheduler.map(|s| {
        let raw = Arc::into_raw(Arc::clone(s)) as *mut Shared;
        // SAFETY: `Arc::into_raw` never returns null.
        unsafe { NonNull::new_unchecked(raw) }
    });
    let layout = block_layout(Layout::new::<TaskCell<F>>());
    let block = cached
        .then(|| take_block(layout))
        .flatten()
        .unwrap_or_else(|| alloc_block(layout));
    let cell = block.cast::<TaskCell<F>>();
    // SAFETY: `block` is a fresh (or recycled, hence unused) allocation of `block_layout` of
    // `TaskCell<F>`'s layout: at least as large and as aligned as a `TaskCell<F>`.
    unsafe {
        cell.as_ptr().write(TaskCell {
            header: Header {
                state,
                vtable: &VtableOf::<F>::VTABLE,
                id,
                scheduler,
                owned_key: AtomicU32::new(u32::MAX),
                polls: UnsafeCell::new(0),
                awaiter: UnsafeCell::new(None),
                last_poll: UnsafeCell::new(0),
            },
            stage: UnsafeCell::new(stage),
        })
    };
    cell.cast::<Header>()
}

// ---------------------------------------------------------------------------------------------
// Task blocks and the executor's cache of free ones.

/// Granularity of the cache's size classes.
const CLASS_BYTES: usize = 16;
/// Size classes (blocks up to `CLASSES * CLASS_BYTES` bytes are cached).
const CLASSES: usize = 64;
/// Alignment of every cacheable block (task cells with a larger alignment bypass the cache).
const BLOCK_ALIGN: usize = 16;
/// Bytes of free blocks kept per size class: enough to recycle a burst of ten thousand small
/// tasks (`scheduler::spawn_many`'s are 128-byte blocks: 1 MiB held only 8,192 of them, and
/// the rest went through malloc, +12 % CPU), while `CACHE_BYTES` bounds what an idle executor
/// holds on to.
const CACHE_BYTES_PER_CLASS: usize = 2 << 20;
/// Bytes of free blocks kept in all.
const CACHE_BYTES: usize = 4 << 20;

/// The layout a task block of `cell` is allocated (and freed) with: cacheable cells are
/// rounded up to their size class, at `BLOCK_ALIGN`, so that any block of a class can hold
/// any cell of that class.
#[inline]
fn block_layout(cell: Layout) -> Layout {
    if cell.align() <= BLOCK_ALIGN && cell.size() <= CLASSES * CLASS_BYTES {
        let size = cell.size().div_ceil(CLASS_BYTES) * CLASS_BYTES;
        Layout::from_size_align(size, BLOCK_ALIGN).unwrap_or(cell)
    } else {
        cell
    }
}

/// The size class of a block layout made by [`block_layout`], if it is a cacheable one.
#[inline]
fn class_of(block: Layout) -> Option<usize> {
    (block.align() == BLOCK_ALIGN && block.size() <= CLASSES * CLASS_BYTES)
        .then(|| block.size() / CLASS_BYTES - 1)
}

fn alloc_block(layout: Layout) -> NonNull<u8> {
    // SAFETY: task layouts are never zero-sized (the header is not).
    let raw = unsafe { alloc::alloc(layout) };
    NonNull::new(raw).unwrap_or_else(|| alloc::handle_alloc_error(layout))
}

thread_local! {
    /// Free task blocks of the executors running on this thread.
    static CACHE: TaskCache = const { TaskCache::new() };
}

/// A cached free block of `layout`, if this thread has one.
#[inline]
fn take_block(layout: Layout) -> Option<NonNull<u8>> {
    CACHE.try_with(|c| c.take(layout)).ok().flatten()
}

/// Frees every block cached on this thread (when an executor of this thread goes away; the
/// cache fills again as soon as another one spawns).
pub(crate) fn release_cached_blocks() {
    let _ = CACHE.try_with(TaskCache::clear);
}

/// Bytes cached on this thread.
#[cfg(test)]
pub(crate) fn cached_bytes() -> usize {
    CACHE.try_with(|c| c.bytes.get()).unwrap_or(0)
}

/// Frees a task block: into this thread's cache when the task belongs to an executor and this
/// thread spawns tasks (the cache is only fed where it is drawn from), else to the allocator.
///
/// # Safety
/// `block` was allocated with `layout` (a [`block_layout`]) and is no longer used; `owner` is
/// the task's executor (`None` for tasks without one).
#[inline]
unsafe fn free_block(block: NonNull<u8>, layout: Layout, owner: Option<NonNull<Shared>>) {
    if owner.is_some() {
        // SAFETY: as promised by our caller.
        unsafe { release_block(block, layout) };
    } else {
        // SAFETY: allocated with `layout` (per the caller) and unused.
        unsafe { alloc::dealloc(block.as_ptr(), layout) };
    }
}

/// Free task blocks of one thread, by size class (bounded; released when an executor of the
/// thread is dropped). A thread-local: only ever touched by its thread. It has no `Drop`, so
/// that reaching it costs no check of a lazily registered destructor: blocks are only kept
/// while an executor of the thread is alive (its drop empties the cache and deactivates it),
/// so a thread exits with an empty cache unless it leaked an executor (and with it the tasks).
///
/// Each class is an intrusive stack: a free block's first word holds the address of the next
/// free block of its class (every block is at least 16 bytes, 16-aligned, and unused while it
/// is here), so keeping and taking a block is a few loads and stores, with no `Vec` growth and
/// no borrow flag.
struct TaskCache {
    /// Top of each class's stack of free blocks (null: empty).
    heads: [Cell<*mut u8>; CLASSES],
    /// Blocks in each class's stack.
    lens: [Cell<u32>; CLASSES],
    /// Bytes held in all classes.
    bytes: Cell<usize>,
    /// This thread spawned tasks since the cache was last cleared: only then are blocks kept
    /// (a thread that merely drops task handles would never reuse them).
    active: Cell<bool>,
}

impl TaskCache {
    const fn new() -> TaskCache {
        TaskCache {
            heads: [const { Cell::new(ptr::null_mut()) }; CLASSES],
            lens: [const { Cell::new(0) }; CLASSES],
            bytes: Cell::new(0),
            active: Cell::new(false),
        }
    }

    /// A free block of `layout` (a [`block_layout`]), if one is cached. Spawning through
    /// here makes the cache active (it keeps freed blocks from now on).
    #[inline]
    fn take(&self, layout: Layout) -> Option<NonNull<u8>> {
        self.active.set(true);
        self.take_if_active(layout)
    }

    /// A free block of `layout`, if one is cached (never activates the cache: only executor
    /// threads keep blocks).
    #[inline]
    fn take_if_active(&self, layout: Layout) -> Option<NonNull<u8>> {
        let class = class_of(layout)?;
        let block = NonNull::new(self.heads[class].get())?;
        // SAFETY: a block on a class stack is a free block of this cache: its first word was
        // written by `put` with the next block's address (it is 16-aligned, so the word is
        // aligned), and nothing else uses it.
        let next = unsafe { block.cast::<*mut u8>().as_ptr().read() };
        self.heads[class].set(next);
        self.lens[class].set(self.lens[class].get() - 1);
        self.bytes.set(self.bytes.get() - layout.size());
        Some(block)
    }

    /// Keeps a free block of size class `class`; hands it back when the cache is full (or
    /// this thread does not spawn tasks).
    #[inline]
    fn put(&self, class: usize, block: NonNull<u8>) -> Option<NonNull<u8>> {
        let size = (class + 1) * CLASS_BYTES;
        let len = self.lens[class].get();
        // `len >= PER_CLASS / size` is `(len + 1) * size > PER_CLASS` in integers, and a
        // constant compare once `class` is known (it is, wherever this is inlined).
        if !self.active.get()
            || len as usize >= CACHE_BYTES_PER_CLASS / size
            || self.bytes.get() + size > CACHE_BYTES
        {
            return Some(block);
        }
        // SAFETY: the caller gives up `block` (at least `size` >= 16 bytes, 16-aligned, no
        // longer used): its first word is ours to overwrite with the link.
        unsafe {
            block
                .cast::<*mut u8>()
                .as_ptr()
                .write(self.heads[class].get())
        };
        self.heads[class].set(block.as_ptr());
        self.lens[class].set(len + 1);
        self.bytes.set(self.bytes.get() + size);
        None
    }
}

impl TaskCache {
    /// Frees every cached block and stops caching until the next spawn.
    fn clear(&self) {
        self.active.set(false);
        for class in 0..CLASSES {
            let layout = Layout::from_size_align((class + 1) * CLASS_BYTES, BLOCK_ALIGN)
                .expect("a valid size class");
            while let Some(block) = self.take_if_active(layout) {
                // SAFETY: every cached block of this class was allocated with this layout and
                // is unused (it was put here after its task was freed); taking it unlinked it.
                unsafe { alloc::dealloc(block.as_ptr(), layout) };
            }
        }
        debug_assert_eq!(self.bytes.get(), 0);
    }
}

impl fmt::Debug for TaskCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskCache")
            .field("bytes", &self.bytes.get())
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// LocalRc: a single-threaded shared box whose block comes from the same per-thread cache.

/// A single-threaded reference-counted box (like `std::rc::Rc` without weak references) whose
/// memory comes from, and goes back to, this thread's cache of free task blocks when the
/// thread runs an executor: on a runtime thread, creating and dropping one costs a few
/// instructions instead of an allocator round trip. Elsewhere (or for values too large or too
/// aligned for the cache) it uses the global allocator.
///
/// `!Send` and `!Sync`; for state shared by the two halves of a task-local primitive (such as
/// `strand::sync::oneshot`). A value that is dropped runs its destructor before the block is
/// released; a destructor that panics leaks the block (as with `Rc`).
///
/// ```
/// use strand_executor::LocalRc;
/// let a = LocalRc::new(String::from("shared"));
/// let b = a.clone();
/// assert!(LocalRc::ptr_eq(&a, &b));
/// drop(a);
/// assert_eq!(*b, "shared");
/// ```
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// assert_send(strand_executor::LocalRc::new(1u8));
/// ```
pub struct LocalRc<T> {
    ptr: NonNull<RcBlock<T>>,
    _owns: PhantomData<RcBlock<T>>,
}

#[repr(C)]
struct RcBlock<T> {
    count: Cell<usize>,
    value: T,
}

impl<T> LocalRc<T> {
    /// Moves `value` into a new block with a count of one.
    #[inline]
    pub fn new(value: T) -> LocalRc<T> {
        let layout = block_layout(Layout::new::<RcBlock<T>>());
        let block = CACHE
            .try_with(|c| c.take_if_active(layout))
            .ok()
            .flatten()
            .unwrap_or_else(|| alloc_block(layout))
            .cast::<RcBlock<T>>();
        // SAFETY: `block` is an unused allocation of `block_layout` of `RcBlock<T>`'s layout
        // (fresh, or a cached block of that size class): large and aligned enough.
        unsafe {
            block.as_ptr().write(RcBlock {
                count: Cell::new(1),
                value,
            })
        };
        LocalRc {
            ptr: block,
            _owns: PhantomData,
        }
    }

    #[inline]
    fn block(&self) -> &RcBlock<T> {
        // SAFETY: our count keeps the block alive and initialised; it is only ever reached
        // through shared references (the count is a `Cell`).
        unsafe { self.ptr.as_ref() }
    }

    /// The address of the value (stable while any clone is alive).
    #[inline]
    pub fn as_ptr(this: &Self) -> *const T {
        &this.block().value
    }

    /// True when both point to the same value.
    #[inline]
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.ptr == other.ptr
    }

    /// Clones alive (this one included).
    #[inline]
    pub fn count(this: &Self) -> usize {
        this.block().count.get()
    }
}

impl<T> Clone for LocalRc<T> {
    #[inline]
    fn clone(&self) -> LocalRc<T> {
        let count = &self.block().count;
        // Cannot overflow before memory runs out (each clone is at least a word), except
        // through `mem::forget` in a loop: abort then, as `Rc` does.
        let n = count
            .get()
            .checked_add(1)
            .unwrap_or_else(|| std::process::abort());
        count.set(n);
        LocalRc {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T> std::ops::Deref for LocalRc<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.block().value
    }
}

impl<T> Drop for LocalRc<T> {
    /// The decrement is inlined into every drop; freeing the value and the block is one
    /// out-of-line call (so a drop that is not the last costs two instructions, not a call).
    #[inline(always)]
    fn drop(&mut self) {
        let count = &self.block().count;
        let n = count.get() - 1;
        count.set(n);
        if n == 0 {
            // SAFETY: we held the last count (it is 0 now and never read again), so nobody
            // else can reach the block, and `self.ptr` is not used after this call.
            unsafe { drop_last(self.ptr) };
        }
    }
}

/// Drops the value of a `LocalRc` whose count reached zero and releases its block.
///
/// # Safety
/// `block` is the block of a `LocalRc<T>` made by `LocalRc::new`, its count is zero (the
/// caller dropped the last clone), and it is never used again.
#[inline(never)]
unsafe fn drop_last<T>(block: NonNull<RcBlock<T>>) {
    // SAFETY: per our caller nobody else can reach the block: drop the value in place (once:
    // the block is never used again), then release the block with the layout `new` allocated
    // it with.
    unsafe {
        ptr::drop_in_place(ptr::addr_of_mut!((*block.as_ptr()).value));
        release_block(
            block.cast::<u8>(),
            block_layout(Layout::new::<RcBlock<T>>()),
        );
    }
}

impl<T: fmt::Debug> fmt::Debug for LocalRc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Gives an unused block back: to this thread's cache when it is active (the thread spawns
/// tasks) and has room, else to the allocator.
///
/// # Safety
/// `block` was allocated with `layout` (a [`block_layout`]) and is no longer used.
#[inline]
unsafe fn release_block(block: NonNull<u8>, layout: Layout) {
    let refused = match class_of(layout) {
        Some(class) => CACHE
            .try_with(|c| c.put(class, block))
            .unwrap_or(Some(block)),
        None => Some(block),
    };
    if let Some(block) = refused {
        // SAFETY: allocated with `layout` (per the caller) and unused.
        unsafe { alloc::dealloc(block.as_ptr(), layout) };
    }
}

/// # Safety
/// `ptr` points to a live task (the caller holds a reference or the `HANDLE` bit).
#[inline]
unsafe fn header<'a>(ptr: NonNull<Header>) -> &'a Header {
    // SAFETY: the caller guarantees the allocation is live; every field of `Header` is
    // either immutable, atomic or an `UnsafeCell`, so a shared reference is always fine.
    unsafe { ptr.as_ref() }
}

/// # Safety
/// `ptr` points to a live `TaskCell<F>` with exactly this `F`.
unsafe fn cell<'a, F: Future>(ptr: NonNull<Header>) -> &'a TaskCell<F> {
    // SAFETY: `Header` is the first field of the `#[repr(C)]` `TaskCell<F>` the vtable
    // belongs to; the stage is behind an `UnsafeCell`.
    unsafe { ptr.cast::<TaskCell<F>>().as_ref() }
}

/// Drops the stage in place, catching a panic from the future's or output's `Drop`, and
/// leaves it `Consumed`.
///
/// # Safety
/// The caller has exclusive access to the stage (see the module docs).
#[inline(always)]
unsafe fn drop_stage<F: Future>(stage: *mut Stage<F>) -> Option<Box<dyn Any + Send>> {
    // SAFETY: exclusive access per the caller; the value is dropped in place (so a pinned
    // future is dropped where it lives) and overwritten without a second drop below.
    let res = panic::catch_unwind(AssertUnwindSafe(|| unsafe { ptr::drop_in_place(stage) }));
    // SAFETY: same exclusive access; the old value was dropped (or partially dropped by a
    // panicking destructor, whose drop glue still ran to the end): do not drop it again.
    unsafe { ptr::write(stage, Stage::Consumed) };
    res.err()
}

/// Drops a value, containing a panic from its destructor (and from the payload's).
pub(crate) fn drop_caught<T>(value: T) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(value))) {
        drop_payload(payload);
    }
}

fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(again) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        // A payload whose destructor panics, twice: give up on it rather than unwind.
        mem::forget(again);
    }
}

/// # Safety
/// The caller owns one queue reference to the `TaskCell<F>` at `ptr`; for executor tasks
/// `local` is the owning executor's.
unsafe fn run<F: Future>(ptr: NonNull<Header>, local: Option<&Local>) -> RunOutcome {
    // SAFETY: the queue reference keeps the task alive; the vtable matches `F`.
    let cell = unsafe { cell::<F>(ptr) };
    let header = &cell.header;
    let refs = release_count(header);
    match header.state.transition_to_running() {
        ToRunning::Stale => {
            // SAFETY: we own the queue reference.
            unsafe { drop_ref(ptr) };
            return RunOutcome::Stale;
        }
        ToRunning::Cancel => {
            // SAFETY: we set RUNNING with CLOSED observed: the stage is ours.
            unsafe { cancel::<F>(ptr, refs) };
            return RunOutcome::Completed;
        }
        ToRunning::Poll => {}
    }
    // SAFETY: the waker is borrowed for the duration of the poll (never dropped: no refcount
    // traffic); our queue reference keeps the task alive meanwhile.
    let waker = ManuallyDrop::new(unsafe { Waker::from_raw(crate::waker::raw_waker(ptr)) });
    let mut cx = Context::from_waker(&waker);
    let stage = cell.stage.get();
    let polled = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: RUNNING is set by us on the executor thread (or a blocking worker for a
        // `Send` closure): nobody else touches the stage until we clear it. The future lives
        // in the never-moving allocation, so pinning it is sound.
        match unsafe { &mut *stage } {
            // SAFETY: see above: pinned in place, exclusively ours while RUNNING.
            Stage::Running(future) => unsafe { Pin::new_unchecked(future) }.poll(&mut cx),
            _ => unreachable!("a task without a future was polled"),
        }
    }));
    match polled {
        Ok(Poll::Pending) => {
            if let Some(local) = local {
                // SAFETY: `polls` and `last_poll` belong to the executor thread (see
                // `Header`), which we are on (`local` is the owning executor's); no reference
                // to them is held anywhere.
                unsafe {
                    let polls = header.polls.get();
                    *polls = (*polls).wrapping_add(1);
                    if *polls == 0 {
                        local.polls_wrapped(header.owned_key.load(Relaxed) as usize);
                    }
                    *header.last_poll.get() = local.poll_stamp();
                }
            }
            let yielded = local.is_some_and(Local::take_yield_request);
            if yielded {
                if header.state.keep_running_for_yield() {
                    return RunOutcome::Requeue {
                        task: TaskRef { ptr },
                        yielded: true,
                    };
                }
                // SAFETY: still RUNNING, set by us; cancellation was requested.
                unsafe { cancel::<F>(ptr, refs) };
                return RunOutcome::Completed;
            }
            match header.state.transition_to_idle() {
                ToIdle::Idle => RunOutcome::Idle,
                ToIdle::Requeue => RunOutcome::Requeue {
                    task: TaskRef { ptr },
                    yielded: false,
                },
                ToIdle::Cancel => {
                    // SAFETY: still RUNNING, set by us.
                    unsafe { cancel::<F>(ptr, refs) };
                    RunOutcome::Completed
                }
            }
        }
        Ok(Poll::Ready(output)) => {
            // SAFETY: still RUNNING, set by us.
            let output = match unsafe { drop_stage::<F>(stage) } {
                None => Ok(output),
                Some(payload) => {
                    drop_caught(output);
                    Err(JoinError::panic(header.id, payload))
                }
            };
            // SAFETY: RUNNING, future dropped, we own the queue (and registry) references.
            unsafe { complete::<F>(ptr, output, refs) };
            RunOutcome::Completed
        }
        Err(payload) => {
            // SAFETY: still RUNNING, set by us.
            if let Some(again) = unsafe { drop_stage::<F>(stage) } {
                drop_payload(again);
            }
            // SAFETY: as above.
            unsafe { complete_cold::<F>(ptr, Err(JoinError::panic(header.id, payload)), refs) };
            RunOutcome::Completed
        }
    }
}

/// References released at completion: the queue entry, plus the registry's for executor tasks.
#[inline]
fn release_count(header: &Header) -> usize {
    if header.scheduler.is_some() {
        2
    } else {
        1
    }
}

/// # Safety
/// The caller set `RUNNING` (with `CLOSED`) and owns `refs` references.
unsafe fn cancel<F: Future>(ptr: NonNull<Header>, refs: usize) {
    // SAFETY: the caller's references keep the task alive.
    let cell = unsafe { cell::<F>(ptr) };
    // SAFETY: RUNNING set by the caller: the stage is ours.
    let output = match unsafe { drop_stage::<F>(cell.stage.get()) } {
        None => Err(JoinError::cancelled(cell.header.id)),
        Some(payload) => Err(JoinError::panic(cell.header.id, payload)),
    };
    // SAFETY: RUNNING, future dropped, `refs` owned.
    unsafe { complete_cold::<F>(ptr, output, refs) };
}

/// [`complete`] out of line, for the rare paths (a panic, a cancellation), so that the common
/// one in `run` is the only inlined copy.
///
/// # Safety
/// As for [`complete`].
#[inline(never)]
unsafe fn complete_cold<F: Future>(
    ptr: NonNull<Header>,
    output: Result<F::Output, JoinError>,
    refs: usize,
) {
    // SAFETY: as promised by our caller.
    unsafe { complete::<F>(ptr, output, refs) };
}

/// # Safety
/// The caller set `RUNNING`, already dropped the future (stage `Consumed`) and owns `refs`
/// references, which this releases.
#[inline(always)]
unsafe fn complete<F: Future>(
    ptr: NonNull<Header>,
    output: Result<F::Output, JoinError>,
    refs: usize,
) {
    // SAFETY: the caller's references keep the task alive.
    let cell = unsafe { cell::<F>(ptr) };
    let header = &cell.header;
    // Without a handle now there will never be one: drop the output here, on this thread.
    let stored = header.state.load().has(crate::state::HANDLE);
    if stored {
        // SAFETY: still RUNNING: the stage is ours; it is `Consumed`, nothing to drop.
        unsafe { ptr::write(cell.stage.get(), Stage::Finished(output)) };
    } else {
        match output {
            // An output without drop glue (`()`, say) has nothing that could panic.
            Ok(output) if !mem::needs_drop::<F::Output>() => drop(output),
            output => drop_caught(output),
        }
    }
    let done = header.state.transition_to_complete(refs, stored);
    if done.kept_ref {
        let waker = if done.notify {
            // SAFETY: we saw AWAITER without LOCKED when setting COMPLETE; the handle never
            // takes LOCKED after COMPLETE, so the slot is ours until we clear AWAITER.
            unsafe { (*header.awaiter.get()).take() }
        } else {
            None
        };
        if done.drop_output {
            // SAFETY: HANDLE was gone when COMPLETE was set: the output is ours to drop.
            unsafe { drop_output::<F>(ptr) };
        }
        if header.state.release_after_complete(done.notify) {
            // SAFETY: we released the last reference and there is no handle.
            unsafe { dealloc::<F>(ptr) };
        }
        if let Some(waker) = waker {
            waker.wake();
        }
    } else if done.dealloc {
        // SAFETY: the completion released the last reference and there is no handle.
        unsafe { dealloc::<F>(ptr) };
    }
}

/// # Safety
/// `dst` points to an `Option<Result<F::Output, JoinError>>`; the caller is the `JoinHandle`
/// and observed `COMPLETE`.
unsafe fn read_output<F: Future>(ptr: NonNull<Header>, dst: *mut ()) {
    // SAFETY: the HANDLE bit keeps the task alive.
    let cell = unsafe { cell::<F>(ptr) };
    let stage = cell.stage.get();
    // SAFETY: COMPLETE with HANDLE set: the stage belongs to the handle (the caller).
    if let Stage::Finished(_) = unsafe { &*stage } {
        // SAFETY: as above; `Finished` holds no pinned future, so moving it out is fine.
        if let Stage::Finished(output) = unsafe { ptr::replace(stage, Stage::Consumed) } {
            // SAFETY: `dst` has the type the caller promised.
            unsafe { *dst.cast::<Option<Result<F::Output, JoinError>>>() = Some(output) };
        }
    }
}

/// # Safety
/// The caller has exclusive access to a completed task's stage.
unsafe fn drop_output<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: the caller keeps the task alive.
    let cell = unsafe { cell::<F>(ptr) };
    let stage = cell.stage.get();
    // SAFETY: exclusive access per the caller.
    if let Stage::Finished(_) = unsafe { &*stage } {
        // SAFETY: as above.
        if let Some(payload) = unsafe { drop_stage::<F>(stage) } {
            drop_payload(payload);
        }
    }
}

/// # Safety
/// Nobody can reach the task any more (refcount 0, no handle).
unsafe fn dealloc<F: Future>(ptr: NonNull<Header>) {
    let cell = ptr.cast::<TaskCell<F>>().as_ptr();
    // SAFETY: we are the last owner of the live `TaskCell<F>` written by `allocate`: the
    // awaiter slot is moved out (dropped below), the stage is only inspected in place.
    let (scheduler, awaiter, consumed) = unsafe {
        (
            (*cell).header.scheduler,
            ptr::read((*cell).header.awaiter.get()),
            matches!(&*(*cell).stage.get(), Stage::Consumed),
        )
    };
    // Unreachable by the invariants above. Leaking a leftover future or output (not dropping
    // it) is the only sound choice: this may be a foreign thread and it need not be `Send`.
    debug_assert!(consumed, "task freed with a live future or output");
    // SAFETY: the awaiter was moved out above, the stage holds nothing to drop (or is leaked),
    // the other fields have no destructor; the block came from `allocate` with this layout;
    // `scheduler` is the task's executor.
    unsafe {
        free_block(
            ptr.cast::<u8>(),
            block_layout(Layout::new::<TaskCell<F>>()),
            scheduler,
        )
    };
    // A waker's `Drop` may do anything: run it after the block is released.
    drop(awaiter);
    if let Some(shared) = scheduler {
        // SAFETY: this is the counted reference taken with `Arc::into_raw` in `allocate`.
        drop(unsafe { Arc::from_raw(shared.as_ptr().cast_const()) });
    }
}

/// Releases one reference.
///
/// # Safety
/// The caller owns one reference to a live task and gives it up.
#[inline]
pub(crate) unsafe fn drop_ref(ptr: NonNull<Header>) {
    // SAFETY: our reference keeps the task alive until the decrement.
    let header = unsafe { header(ptr) };
    if header.state.ref_dec() {
        // SAFETY: we released the last reference and there is no handle.
        unsafe { (header.vtable.dealloc)(ptr) };
    }
}

/// Frees a task whose last reference was just released by a by-value wake.
///
/// # Safety
/// Nobody can reach the task any more.
pub(crate) unsafe fn dealloc_unreachable(ptr: NonNull<Header>) {
    // SAFETY: per the caller, we are the last owner; the header is still intact.
    let dealloc = unsafe { header(ptr) }.vtable.dealloc;
    // SAFETY: as above.
    unsafe { dealloc(ptr) };
}

/// Hints the CPU to start loading the first two cache lines of the task at `ptr` (its header
/// and the start of its future), which the executor is about to poll: with many tasks, each
/// poll's first touch of its task is a cache miss, and this overlaps the next one's with the
/// current poll. No effect on memory (and none at all off x86-64, or under Miri).
#[inline(always)]
pub(crate) fn prefetch(ptr: NonNull<Header>) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = ptr.as_ptr().cast::<i8>();
        // SAFETY: a prefetch is only a hint: it never faults and changes no memory, whatever
        // the address (`wrapping_add` keeps the second address computation defined too); SSE
        // is part of every x86-64 target.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p);
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
        }
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = ptr;
}

thread_local! {
    /// The executor running a batch of polls on this thread right now, or null: published
    /// only by [`while_polling`], which keeps it borrowed meanwhile.
    static POLLING: Cell<*const Local> = const { Cell::new(ptr::null()) };
}

/// Runs `f` (a batch of polls of `local`'s tasks) with `local` published as the executor
/// polling on this thread, so that [`schedule`] reaches its run queue directly. The previous
/// value (an enclosing batch's, or null) is restored when `f` returns or unwinds.
#[inline]
pub(crate) fn while_polling<R>(local: &Local, f: impl FnOnce() -> R) -> R {
    struct Restore(*const Local);
    impl Drop for Restore {
        #[inline]
        fn drop(&mut self) {
            POLLING.set(self.0);
        }
    }
    let _restore = Restore(POLLING.replace(local));
    f()
}

/// Pushes a queue entry to the task's executor (local queue when on its thread and entered,
/// else the remote queue), or drops it for tasks without an executor.
#[inline]
pub(crate) fn schedule(task: TaskRef) {
    let Some(target) = task.header().scheduler else {
        return;
    };
    let polling = POLLING.get();
    if !polling.is_null() {
        // SAFETY: non-null only while `while_polling(local, ..)` runs further up this
        // thread's stack: `local` is borrowed for that whole time, and the value is put back
        // (to the enclosing batch's executor, or null) before that borrow ends, on unwind too.
        let local = unsafe { &*polling };
        if ptr::eq(Arc::as_ptr(&local.shared), target.as_ptr()) {
            // Refused only when closed: then it goes the general way (the remote queue
            // refuses it too, and drops it outside every borrow).
            match local.try_push_local(task) {
                None => return,
                Some(task) => return crate::scheduler::schedule(task),
            }
        }
    }
    crate::scheduler::schedule(task);
}

/// Requests cancellation: the owning executor drops the future on its own thread.
#[inline]
fn abort_task(ptr: NonNull<Header>) {
    // SAFETY: callers hold a reference or the HANDLE bit.
    let header = unsafe { header(ptr) };
    if header.scheduler.is_none() {
        return; // blocking jobs and tasks born cancelled cannot be aborted
    }
    if header.state.abort() == crate::state::WakeAction::Schedule {
        // The transition added the reference this entry owns.
        schedule(TaskRef { ptr });
    }
}

// ---------------------------------------------------------------------------------------------
// TaskRef: a queue entry.

/// One counted reference to a task, as held by a run queue. Running it requires the owning
/// executor's `&Local`, which only exists on that executor's thread.
pub(crate) struct TaskRef {
    ptr: NonNull<Header>,
}

// SAFETY: a `TaskRef` may cross threads inside the remote queue: on a foreign thread it can
// only be dropped (a refcount decrement; freeing runs no future or output destructor, see the
// module docs) or pushed to a queue. Polling needs `&Local` of the owning executor.
unsafe impl Send for TaskRef {}

impl TaskRef {
    /// # Safety
    /// The caller transfers one reference it owns to the new `TaskRef`.
    #[inline]
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> TaskRef {
        TaskRef { ptr }
    }

    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: our reference keeps the task alive.
        unsafe { header(self.ptr) }
    }

    #[inline]
    pub(crate) fn ptr(&self) -> NonNull<Header> {
        self.ptr
    }

    #[inline]
    pub(crate) fn id(&self) -> Id {
        self.header().id
    }

    #[inline]
    pub(crate) fn owned_key(&self) -> usize {
        self.header().owned_key.load(Relaxed) as usize
    }

    /// The executor this task belongs to, as an address to compare (never dereferenced).
    #[inline]
    pub(crate) fn scheduler_ptr(&self) -> *const Shared {
        self.header()
            .scheduler
            .map_or(ptr::null(), |p| p.as_ptr().cast_const())
    }

    /// A new strong reference to the task's executor state.
    #[inline]
    pub(crate) fn scheduler_arc(&self) -> Option<Arc<Shared>> {
        self.header().scheduler.map(|p| {
            let raw = p.as_ptr().cast_const();
            // SAFETY: the task owns a counted reference (from `Arc::into_raw`) for as long as
            // it is alive, and we keep it alive: adding one more and adopting it is sound.
            unsafe {
                Arc::increment_strong_count(raw);
                Arc::from_raw(raw)
            }
        })
    }

    /// Polls the task (or cancels it) on the executor thread.
    ///
    /// Panics if the task belongs to another executor: that check is what makes polling a
    /// `!Send` future here sound, since `Local` never leaves its thread.
    #[inline]
    pub(crate) fn run(self, local: &Local) -> RunOutcome {
        assert!(
            self.scheduler_ptr() == Arc::as_ptr(&local.shared),
            "strand: a task was run by an executor it does not belong to"
        );
        let this = ManuallyDrop::new(self);
        let run = this.header().vtable.run;
        // SAFETY: we hand over the queue reference; `local` is the owning executor's (checked
        // above), so this is the thread where the future was created or it is `Send`.
        unsafe { run(this.ptr, Some(local)) }
    }
}

impl TaskRef {
    /// Gives up a queue entry at executor shutdown. An entry of a task that yielded still
    /// holds the task's `RUNNING` (see `State::keep_running_for_yield`): nobody else will drop
    /// that future, so it is cancelled here (on the executor thread: `local` proves it).
    /// True when it was: the completion released the registry's reference too, so the caller
    /// must remove the registry entry (the block may already be freed or reused).
    pub(crate) fn discard(self, local: &Local) -> bool {
        let header = self.header();
        if header.state.is_running()
            && header.scheduler.map(|p| p.as_ptr().cast_const()) == Some(Arc::as_ptr(&local.shared))
        {
            let this = ManuallyDrop::new(self);
            let header = this.header();
            // SAFETY: RUNNING was set by this executor's poll of the task and kept across its
            // yield, and its future is not being polled (an entry exists only while it waits):
            // the stage is ours. We own the queue reference; the registry's is released by the
            // completion as well.
            unsafe { (header.vtable.cancel)(this.ptr, release_count(header)) };
            return true;
        }
        false
    }
}

impl Drop for TaskRef {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { drop_ref(self.ptr) }
    }
}

// ---------------------------------------------------------------------------------------------
// OwnedTask: the registry entry.

/// The executor registry's reference to a live task (released by the task's completion, so
/// this type has no `Drop`). `!Send`: it lives in the executor's slab.
pub(crate) struct OwnedTask {
    ptr: NonNull<Header>,
}

impl OwnedTask {
    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: the registry reference keeps the task alive until completion, and entries
        // are removed from the registry when their task completes.
        unsafe { header(self.ptr) }
    }

    #[inline]
    pub(crate) fn ptr(&self) -> NonNull<Header> {
        self.ptr
    }

    #[inline]
    pub(crate) fn id(&self) -> Id {
        self.header().id
    }

    #[inline]
    pub(crate) fn state(&self) -> Snapshot {
        self.header().state.load()
    }

    /// Test hook: sets the low 32 bits of the poll count.
    #[cfg(test)]
    pub(crate) fn set_polls_low(&self, polls: u32) {
        // SAFETY: as in `stats`: the executor thread's field, no reference held.
        unsafe { *self.header().polls.get() = polls };
    }

    /// The task's poll count (low 32 bits) and latest poll stamp.
    #[inline]
    pub(crate) fn stats(&self) -> PollStats {
        let header = self.header();
        // SAFETY: an `OwnedTask` lives in its executor's registry and never leaves that
        // thread, the only one that touches these fields (see `Header`); this copies them.
        unsafe {
            PollStats {
                polls_low: *header.polls.get(),
                last_poll: *header.last_poll.get(),
            }
        }
    }

    /// Drops the future of a live task at executor shutdown (exactly once: the claim is an
    /// atomic transition), completing it with `Err(cancelled)`.
    pub(crate) fn shutdown(self, local: &Local) {
        let header = self.header();
        assert!(
            header.scheduler.map(|p| p.as_ptr().cast_const()) == Some(Arc::as_ptr(&local.shared)),
            "strand: a task was shut down by an executor it does not belong to"
        );
        match header.state.claim_for_shutdown() {
            // SAFETY: we set RUNNING | CLOSED on the owning executor's thread (checked above);
            // we own the registry reference, released by the completion.
            Claim::Claimed => unsafe { (header.vtable.cancel)(self.ptr, 1) },
            // The poll further up this stack cancels it and releases our reference.
            Claim::Running => {}
            // Completion already released the registry reference.
            Claim::Complete => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JoinRef: the JoinHandle's side.

/// The `HANDLE` bit of a task whose output is `T`.
pub(crate) struct JoinRef<T> {
    ptr: NonNull<Header>,
    _output: PhantomData<T>,
}

// SAFETY: from another thread a `JoinRef` reads or drops the output (hence `T: Send`) and
// touches the awaiter slot and state with the atomic protocol above; never the future.
unsafe impl<T: Send> Send for JoinRef<T> {}
// SAFETY: `&JoinRef` only exposes `id`, `is_finished`, `abort` and `abort_ref`: atomics.
unsafe impl<T: Send> Sync for JoinRef<T> {}

impl<T> JoinRef<T> {
    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: the HANDLE bit keeps the task alive.
        unsafe { header(self.ptr) }
    }

    #[inline]
    pub(crate) fn id(&self) -> Id {
        self.header().id
    }

    #[inline]
    pub(crate) fn is_finished(&self) -> bool {
        self.header().state.load().has(COMPLETE)
    }

    #[inline]
    pub(crate) fn abort(&self) {
        abort_task(self.ptr);
    }

    /// For diagnostics: (address of the owning executor's shared state or 0, registry key, id).
    #[inline]
    pub(crate) fn diag_target(&self) -> (usize, usize, Id) {
        let header = self.header();
        let exec = header.scheduler.map_or(0, |p| p.as_ptr() as usize);
        (exec, header.owned_key.load(Relaxed) as usize, header.id)
    }

    #[inline]
    pub(crate) fn abort_ref(&self) -> AbortRef {
        self.header().state.ref_inc();
        AbortRef { ptr: self.ptr }
    }

    /// Takes the output once complete; otherwise registers `waker` (the last one wins).
    #[inline]
    pub(crate) fn poll_join(&mut self, waker: &Waker) -> Poll<Result<T, JoinError>> {
        let header = self.header();
        if !header.state.load().has(COMPLETE) && self.register(waker) == Register::Registered {
            return Poll::Pending;
        }
        let mut out: Option<Result<T, JoinError>> = None;
        // SAFETY: COMPLETE observed (acquire) and we are the handle; `out` has the type the
        // vtable of a task with output `T` writes.
        unsafe { (header.vtable.read_output)(self.ptr, ptr::addr_of_mut!(out).cast()) };
        Poll::Ready(out.expect("`JoinHandle` polled after it returned `Ready`"))
    }

    // Only called from `poll_join(&mut self)`: the handle is exclusive.
    #[inline]
    fn register(&self, waker: &Waker) -> Register {
        let header = self.header();
        if header.state.register_lock() == Register::Complete {
            return Register::Complete;
        }
        // SAFETY: we hold LOCKED and the task was not complete: the slot is ours.
        let slot = unsafe { &mut *header.awaiter.get() };
        let old = match slot {
            Some(current) if current.will_wake(waker) => None,
            _ => slot.replace(waker.clone()),
        };
        let result = match header.state.register_unlock() {
            Register::Complete => {
                // The completion saw LOCKED and left the slot to us; we still hold LOCKED.
                let ours = slot.take();
                header.state.unlock_after_complete();
                drop(ours);
                Register::Complete
            }
            other => other,
        };
        // Dropped outside the lock: a waker's `Drop` may do anything.
        drop(old);
        result
    }
}

impl<T> Drop for JoinRef<T> {
    fn drop(&mut self) {
        let ptr = self.ptr;
        let header = self.header();
        let mut state = header.state.load();
        if state.refs() == 0 && state.has(COMPLETE) && !state.has(AWAITER | LOCKED) {
            // Sole owner of a finished task: nobody else can change the state any more.
            // SAFETY: COMPLETE with HANDLE: the output is ours; then we are the last owner.
            unsafe {
                (header.vtable.drop_output)(ptr);
                (header.vtable.dealloc)(ptr);
            }
            return;
        }
        loop {
            if state.has(COMPLETE) {
                // SAFETY: COMPLETE with HANDLE: the output is ours.
                unsafe { (header.vtable.drop_output)(ptr) };
                if header.state.drop_handle_complete(false) {
                    // SAFETY: refcount 0 and we just cleared HANDLE.
                    unsafe { (header.vtable.dealloc)(ptr) };
                }
                return;
            }
            if !state.has(AWAITER) {
                match header.state.drop_handle_if_idle(state) {
                    Ok(()) => return,
                    Err(now) => state = now,
                }
                continue;
            }
            if header.state.register_lock() == Register::Locked {
                break;
            }
            state = header.state.load();
        }
        // SAFETY: we hold LOCKED and the task was not complete: the slot is ours.
        let waker = unsafe { (*header.awaiter.get()).take() };
        if header.state.drop_handle_unlock().is_err() {
            // Completed while we held LOCKED: the completion did not touch the slot or the
            // output (HANDLE was still set), so the output is ours to drop.
            // SAFETY: as explained.
            unsafe { (header.vtable.drop_output)(ptr) };
            if header.state.drop_handle_complete(true) {
                // SAFETY: refcount 0 and we just cleared HANDLE.
                unsafe { (header.vtable.dealloc)(ptr) };
            }
        }
        drop(waker);
    }
}

// ---------------------------------------------------------------------------------------------
// AbortRef.

/// A counted reference that can only abort and observe the task.
pub(crate) struct AbortRef {
    ptr: NonNull<Header>,
}

// SAFETY: an `AbortRef` only touches the atomic state and pushes queue entries; the future is
// dropped by its executor thread. Dropping the last reference frees a task whose stage is
// already `Consumed`.
unsafe impl Send for AbortRef {}
// SAFETY: as above; every method takes `&self` and uses atomics only.
unsafe impl Sync for AbortRef {}

impl AbortRef {
    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: our reference keeps the task alive.
        unsafe { header(self.ptr) }
    }
    #[inline]
    pub(crate) fn id(&self) -> Id {
        self.header().id
    }
    #[inline]
    pub(crate) fn is_finished(&self) -> bool {
        self.header().state.load().has(COMPLETE)
    }
    #[inline]
    pub(crate) fn abort(&self) {
        abort_task(self.ptr);
    }
}

impl Clone for AbortRef {
    fn clone(&self) -> AbortRef {
        self.header().state.ref_inc();
        AbortRef { ptr: self.ptr }
    }
}

impl Drop for AbortRef {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { drop_ref(self.ptr) }
    }
}

// ---------------------------------------------------------------------------------------------
// Constructors.

/// A registry key as the header stores it.
#[inline]
fn key32(key: usize) -> u32 {
    u32::try_from(key).expect("strand: more than 4 billion live tasks on one executor")
}

/// A task for the executor owning `shared`, to be registered under `owned_key` and queued.
#[inline]
pub(crate) fn new_task<F>(
    future: F,
    id: Id,
    shared: &Arc<Shared>,
    owned_key: usize,
) -> (TaskRef, OwnedTask, JoinRef<F::Output>)
where
    F: Future + 'static,
{
    let ptr = allocate(
        Stage::Running(future),
        id,
        Some(shared),
        State::new_scheduled(2),
        true,
    );
    // SAFETY: freshly allocated, we hold both references.
    unsafe { header(ptr) }
        .owned_key
        .store(key32(owned_key), Relaxed);
    (
        TaskRef { ptr },
        OwnedTask { ptr },
        JoinRef {
            ptr,
            _output: PhantomData,
        },
    )
}

/// A `Send` task spawned from any thread; the executor adopts it when it drains its remote
/// queue, or it is cancelled (its future dropped) wherever the `RemoteSpawn` is dropped.
pub(crate) fn new_remote_task<F>(
    future: F,
    id: Id,
    shared: &Arc<Shared>,
) -> (RemoteSpawn, JoinRef<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let ptr = allocate(
        Stage::Running(future),
        id,
        Some(shared),
        State::new_scheduled(2),
        false,
    );
    (
        RemoteSpawn { ptr },
        JoinRef {
            ptr,
            _output: PhantomData,
        },
    )
}

/// A task that is born complete with `Err(cancelled)`: for spawns into a closed executor.
/// The future is dropped right here.
pub(crate) fn new_cancelled<F>(future: F, id: Id) -> JoinRef<F::Output>
where
    F: Future + 'static,
{
    let output = match panic::catch_unwind(AssertUnwindSafe(move || drop(future))) {
        Ok(()) => JoinError::cancelled(id),
        Err(payload) => JoinError::panic(id, payload),
    };
    let ptr = allocate::<F>(
        Stage::Finished(Err(output)),
        id,
        None,
        State::new_complete(),
        false,
    );
    JoinRef {
        ptr,
        _output: PhantomData,
    }
}

/// A blocking job: `future` is `Send`, polled once on a pool thread.
pub(crate) fn new_blocking<F>(future: F, id: Id) -> (BlockingRunnable, JoinRef<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let ptr = allocate(
        Stage::Running(future),
        id,
        None,
        State::new_scheduled(1),
        false,
    );
    (
        BlockingRunnable { ptr },
        JoinRef {
            ptr,
            _output: PhantomData,
        },
    )
}

/// A remotely spawned task on its way to the executor (queue + registry references).
pub(crate) struct RemoteSpawn {
    ptr: NonNull<Header>,
}

// SAFETY: only built by `new_remote_task`, whose future and output are `Send`; so running its
// cancellation (dropping the future) on any thread is fine.
unsafe impl Send for RemoteSpawn {}

impl RemoteSpawn {
    #[inline]
    pub(crate) fn id(&self) -> Id {
        // SAFETY: we own two references.
        unsafe { header(self.ptr) }.id
    }

    /// Registers the task under `owned_key` on the executor thread.
    pub(crate) fn adopt(self, owned_key: usize) -> (TaskRef, OwnedTask) {
        let this = ManuallyDrop::new(self);
        // SAFETY: we own two references.
        unsafe { header(this.ptr) }
            .owned_key
            .store(key32(owned_key), Relaxed);
        (TaskRef { ptr: this.ptr }, OwnedTask { ptr: this.ptr })
    }
}

impl Drop for RemoteSpawn {
    fn drop(&mut self) {
        // SAFETY: we own two references.
        let header = unsafe { header(self.ptr) };
        if header.state.claim_unstarted() {
            // SAFETY: RUNNING | CLOSED set by us; the future is `Send`; both refs are ours.
            unsafe { (header.vtable.cancel)(self.ptr, 2) };
        } else {
            // Cannot happen (nobody else runs an unadopted task); release what we own.
            // SAFETY: we own two references.
            unsafe {
                drop_ref(self.ptr);
                drop_ref(self.ptr);
            }
        }
    }
}

/// A queued `spawn_blocking` job (one reference). Dropping it unstarted cancels it.
pub(crate) struct BlockingRunnable {
    ptr: NonNull<Header>,
}

// SAFETY: only built by `new_blocking`, whose future (the closure) and output are `Send`.
unsafe impl Send for BlockingRunnable {}

impl BlockingRunnable {
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    #[inline]
    pub(crate) fn id(&self) -> Id {
        // SAFETY: we own one reference.
        unsafe { header(self.ptr) }.id
    }

    /// Runs the job on this (pool) thread; a panic becomes the handle's `Err(panic)`.
    #[inline]
    pub(crate) fn run(self) {
        let this = ManuallyDrop::new(self);
        // SAFETY: we own one reference.
        let run = unsafe { header(this.ptr) }.vtable.run;
        // SAFETY: we hand over our reference; the future is `Send`, any thread may poll it.
        let _ = unsafe { run(this.ptr, None) };
    }
}

impl Drop for BlockingRunnable {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        let header = unsafe { header(self.ptr) };
        if header.state.claim_unstarted() {
            // SAFETY: RUNNING | CLOSED set by us; the closure is `Send`; the ref is ours.
            unsafe { (header.vtable.cancel)(self.ptr, 1) };
        } else {
            // SAFETY: we own one reference.
            unsafe { drop_ref(self.ptr) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{HANDLE, LOCKED};

    #[test]
    fn header_is_small() {
        assert!(
            mem::size_of::<Header>() <= 64,
            "{}",
            mem::size_of::<Header>()
        );
    }

    #[test]
    fn lock_bit_is_not_handle() {
        assert_ne!(LOCKED, HANDLE);
    }

    #[test]
    fn block_layouts_round_to_size_classes() {
        let small = block_layout(Layout::from_size_align(72, 8).unwrap());
        assert_eq!((small.size(), small.align()), (80, BLOCK_ALIGN));
        assert_eq!(class_of(small), Some(4));
        let aligned = Layout::from_size_align(128, 64).unwrap();
        assert_eq!(block_layout(aligned), aligned);
        assert_eq!(class_of(aligned), None);
        let big = Layout::from_size_align(CLASSES * CLASS_BYTES + 8, 8).unwrap();
        assert_eq!(block_layout(big), big);
        assert_eq!(class_of(block_layout(big)), None);
    }

    #[test]
    fn local_rc_drops_its_value_once_and_recycles_blocks_on_executor_threads() {
        use crate::{Executor, ExecutorConfig};
        use std::rc::Rc;

        // Off an executor thread: plain allocations, the cache stays empty.
        std::thread::spawn(|| {
            let token = Rc::new(());
            let a = LocalRc::new((token.clone(), 5u32));
            let b = a.clone();
            assert_eq!(LocalRc::count(&a), 2);
            drop(a);
            assert_eq!((Rc::strong_count(&token), b.1), (2, 5));
            drop(b);
            assert_eq!(Rc::strong_count(&token), 1);
            assert_eq!(cached_bytes(), 0);
        })
        .join()
        .unwrap();

        let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
        let h = exec.spawn(async { 1u8 });
        while exec.tick(64) {}
        drop(h);
        let base = cached_bytes();
        let token = Rc::new(());
        let a = LocalRc::new([token.clone(), token.clone()]);
        let addr = LocalRc::as_ptr(&a) as usize;
        drop(a);
        assert_eq!(
            Rc::strong_count(&token),
            1,
            "the value is dropped with the last count"
        );
        assert!(cached_bytes() > base, "the block went to the cache");
        let b = LocalRc::new([token.clone(), token.clone()]);
        assert_eq!(
            LocalRc::as_ptr(&b) as usize,
            addr,
            "and came back for the next one"
        );
        assert_eq!(cached_bytes(), base);
        // Too aligned or too large for the cache: the allocator, both ways.
        #[repr(align(64))]
        struct Aligned(u8);
        let big = LocalRc::new([3u8; 4096]);
        let aligned = LocalRc::new(Aligned(4));
        assert_eq!((big[4095], aligned.0), (3, 4));
        drop((big, aligned));
        assert_eq!(cached_bytes(), base);
        drop(b);
        // Blocks outliving the executor go back to the allocator.
        let c = LocalRc::new(token.clone());
        drop(exec);
        assert_eq!(cached_bytes(), 0);
        drop(c);
        assert_eq!(cached_bytes(), 0);
        assert_eq!(Rc::strong_count(&token), 1);
    }

    #[test]
    fn freed_task_blocks_are_recycled_on_the_executor_thread() {
        use crate::{Executor, ExecutorConfig};

        let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
        let _guard = exec.enter();
        let handles: Vec<_> = (0..8u64).map(|i| exec.spawn(async move { i })).collect();
        while exec.tick(64) {}
        assert_eq!(cached_bytes(), 0, "the handles keep the blocks");
        for h in handles {
            assert!(h.is_finished());
            drop(h);
        }
        let held = cached_bytes();
        assert!(held > 0);
        // A task of the same size class takes a cached block ...
        let h = exec.spawn(async { 9u64 });
        assert!(cached_bytes() < held);
        // ... and one too aligned for the cache (or too large) does not.
        #[repr(align(64))]
        struct Aligned(u8);
        let before = cached_bytes();
        let a = exec.spawn(async { Aligned(3) });
        let big = exec.spawn(async { [7u8; 4096] });
        assert_eq!(cached_bytes(), before);
        while exec.tick(64) {}
        assert_eq!(futures_lite::future::block_on(h).unwrap(), 9);
        assert_eq!(futures_lite::future::block_on(a).unwrap().0, 3);
        assert_eq!(futures_lite::future::block_on(big).unwrap()[4095], 7);
        // A task freed on another thread goes back to the allocator.
        let remote = exec.spawn(async { 5u64 });
        while exec.tick(64) {}
        let before = cached_bytes();
        std::thread::spawn(move || assert_eq!(futures_lite::future::block_on(remote).unwrap(), 5))
            .join()
            .unwrap();
        assert_eq!(cached_bytes(), before);
    }
}
