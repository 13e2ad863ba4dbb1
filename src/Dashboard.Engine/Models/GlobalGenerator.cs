using static TorchSharp.torch;

namespace Dashboard.Engine.Models;

/// <summary>
/// torch's process-wide default generator, which every layer constructor draws its initial weights from. A run's exact
/// result depends on the sequence it draws right after seeding, so every use of that generator in the process goes
/// through here, under one lock: a run seeds and builds with no other draw in between, and a model built only to be
/// inspected (parameter names, evaluation, export, import) leaves the generator as it found it.
/// </summary>
public static class GlobalGenerator
{
    private static readonly Lock Gate = new();

    /// <summary>Seeds the generator and runs <paramref name="build"/> before anyone else can draw or reseed.</summary>
    public static T Seeded<T>(long seed, Func<T> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        lock (Gate)
        {
            random.manual_seed(seed);
            return build();
        }
    }

    /// <summary>
    /// Runs <paramref name="build"/> and then puts the generator back as it was, so the draws it made are invisible to
    /// everyone else; the lock keeps them from landing between another run's seeding and building.
    /// </summary>
    public static T Untouched<T>(Func<T> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        lock (Gate)
        {
            // Detached: a caller's dispose scope must not free the saved state before it is put back.
            using var saved = random.get_rng_state().DetachFromDisposeScope();
            try
            {
                return build();
            }
            finally
            {
                random.set_rng_state(saved);
            }
        }
    }

    /// <summary>The generator's state, as a checkpoint records it.</summary>
    public static byte[] State()
    {
        lock (Gate)
        {
            using var state = random.get_rng_state().DetachFromDisposeScope();
            return state.data<byte>().ToArray();
        }
    }

    /// <summary>Sets the generator to a state <see cref="State"/> returned (a resumed run continues its sequence).</summary>
    public static void Restore(byte[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (Gate)
        {
            using var restored = tensor(state, ScalarType.Byte).DetachFromDisposeScope();
            random.set_rng_state(restored);
        }
    }
}
