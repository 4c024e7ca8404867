namespace GpuDev.Testing;

public static class TestKeys
{
    /// <summary>A syntactically valid ed25519 public key (not used to log in anywhere).</summary>
    public const string Ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGcvANupBnfu3Pm/f9VedW8d/eLhMzcd0JTTfmeaS7oF test@gpu-dev";

    /// <summary>What <c>ssh-keygen -l</c> prints for <see cref="Ed25519"/>.</summary>
    public const string Ed25519Fingerprint = "SHA256:tKvvtxLUtAMvFJJzL359Db9H4V5BRA1ZCJa91sesY/o";

    /// <summary>Another valid ed25519 public key (not used to log in anywhere).</summary>
    public const string SecondEd25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJocq0O4hturK2TH2DgJfoFVqI685oFyppkwWJEaRLzQ second@gpu-dev";
}
