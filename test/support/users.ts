/** The user uuid a token stands for, as a worker or a driver learns it (`GET /api/user`). */
import { HttpPath, UserResponse } from "motivus-protocol";

export async function uuidOf(origin: string, token: string): Promise<string> {
  const res = await fetch(`${origin}${HttpPath.user}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`GET ${HttpPath.user} answered ${res.status}`);
  return UserResponse.parse(await res.json()).data.uuid;
}
