namespace GpuDev.Testing;

public static class TestKeys
{
    /// <summary>A syntactically valid ed25519 public key (not used to log in anywhere).</summary>
    public const string Ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGcvANupBnfu3Pm/f9VedW8d/eLhMzcd0JTTfmeaS7oF test@gpu-dev";
}
