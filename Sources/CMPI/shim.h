// Open MPI for the `MPI` package trait, header-only: SwiftPM builds a C target even when nothing
// enabled depends on it, and a systemLibrary module is only read when imported.
// MPI_COMM_WORLD, the datatypes and the ops are macros over Open MPI's globals, which Swift cannot
// import: these functions hand them over.
#include <mpi.h>

static inline MPI_Comm lips_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype lips_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype lips_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Op lips_mpi_max(void) { return MPI_MAX; }
static inline int lips_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
