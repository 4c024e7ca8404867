using System.Text.Json;
using System.Text.Json.Serialization;

namespace GpuDev.Contracts;

/// <summary>Source-generated JSON for every wire type; shared by server and CLI (NativeAOT-safe).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = false)]
[JsonSerializable(typeof(CreateReservationRequest))]
[JsonSerializable(typeof(EditReservationRequest))]
[JsonSerializable(typeof(ReservationDto))]
[JsonSerializable(typeof(List<ReservationDto>))]
[JsonSerializable(typeof(GpuTypesResponse))]
[JsonSerializable(typeof(MeDto))]
[JsonSerializable(typeof(SetGithubUserRequest))]
[JsonSerializable(typeof(ProblemDto))]
[JsonSerializable(typeof(AvailabilityResponse))]
[JsonSerializable(typeof(TimelineResponse))]
[JsonSerializable(typeof(ClusterStatusDto))]
[JsonSerializable(typeof(UsageReportDto))]
[JsonSerializable(typeof(DiskDto))]
[JsonSerializable(typeof(List<DiskDto>))]
[JsonSerializable(typeof(CreateDiskRequest))]
[JsonSerializable(typeof(RenameDiskRequest))]
[JsonSerializable(typeof(DiskContentDto))]
[JsonSerializable(typeof(RestoreDiskRequest))]
[JsonSerializable(typeof(List<DiskSnapshotDto>))]
[JsonSerializable(typeof(List<AuditEntryDto>))]
[JsonSerializable(typeof(ReadinessDto))]
[JsonSerializable(typeof(List<TokenDto>))]
[JsonSerializable(typeof(CreateTokenRequest))]
[JsonSerializable(typeof(CreatedTokenDto))]
[JsonSerializable(typeof(List<UserDto>))]
[JsonSerializable(typeof(CreateUserRequest))]
[JsonSerializable(typeof(CreatedUserDto))]
[JsonSerializable(typeof(UserChangeDto))]
[JsonSerializable(typeof(SetAdminRequest))]
[JsonSerializable(typeof(List<SshKeyDto>))]
[JsonSerializable(typeof(AddSshKeyRequest))]
[JsonSerializable(typeof(SshKeyChangeDto))]
[JsonSerializable(typeof(AuthInfoDto))]
[JsonSerializable(typeof(OidcLoginRequest))]
[JsonSerializable(typeof(AwsLoginRequest))]
[JsonSerializable(typeof(LoginResultDto))]
public sealed partial class GpuDevJsonContext : JsonSerializerContext;
