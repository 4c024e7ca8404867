using System.Net;
using k8s.Autorest;

namespace GpuDev.Compute.Kubernetes;

/// <summary>The answers of the API server that are outcomes, not failures: every object has a deterministic name, so a 409 on
/// create means a repeated call found it already there, and a 404 on read or delete means it is gone.</summary>
internal static class ApiCalls
{
    /// <summary>The object, or null when it does not exist.</summary>
    public static async Task<T?> OrNullAsync<T>(Func<Task<T>> call)
        where T : class
    {
        try
        {
            return await call();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>The object as created, or null when it was already there (a repeated call).</summary>
    public static async Task<T?> CreatedOrNullAsync<T>(Func<Task<T>> create)
        where T : class
    {
        try
        {
            return await create();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            return null;
        }
    }

    /// <summary>True when created now, false when it was already there (a repeated call).</summary>
    public static async Task<bool> CreateIfMissingAsync<T>(Func<Task<T>> create)
    {
        try
        {
            await create();
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    public static async Task IgnoreNotFoundAsync<T>(Func<Task<T>> call)
    {
        try
        {
            await call();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }
}
