using System.Reflection;
using Microsoft.Extensions.Logging;

namespace GpuDev.Server.Tests.Observability;

/// <summary>Every log message of the product has its own event id, so a log query by id finds one kind of event.
/// Ranges: 1000–1999 server, 2000–2199 local host (2100+ its disks), 2200–2599 server cross-cutting, 3000+ Kubernetes.</summary>
public sealed class EventIdTests
{
    [Fact]
    public void NoTwoLogMessagesShareAnEventId()
    {
        var assemblies = new[]
        {
            typeof(GpuDev.Server.Hosting.ServerApp).Assembly,
            typeof(GpuDev.Compute.LocalHost.LocalHostOptions).Assembly,
            typeof(GpuDev.Compute.Kubernetes.KubernetesOptions).Assembly,
            typeof(GpuDev.Storage.SqlDatabase).Assembly,
            typeof(GpuDev.Storage.Sqlite.SqliteStorageExtensions).Assembly,
            typeof(GpuDev.Storage.Postgres.PostgresStorageExtensions).Assembly,
            typeof(GpuDev.Core.Catalog.GpuCatalog).Assembly,
        };

        var messages = assemblies
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: $"{m.DeclaringType!.Name}.{m.Name}", Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .ToList();

        var shared = messages.GroupBy(m => m.Attribute!.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}").ToList();
        Assert.True(messages.Count > 50, $"expected the product's log messages, found {messages.Count}");
        Assert.True(shared.Count == 0, "event ids used by more than one log message:\n" + string.Join('\n', shared));
    }
}
